"""Redis's error replies, word for word, built in one place.

Commands raise ReplyError; the dispatcher turns it into an error reply, so a
deep helper (an integer parser, a type check) can fail a command directly. The
texts sit below every layer, storage included, since a type check deep down
answers WRONGTYPE as surely as a command does.

Imports: none.
"""


class AlreadyCounted(str):
    """An error text whose error was counted where it happened (a command a script ran): the script's reply
    that carries it again is not counted again (Redis's ERR_REPLY_FLAG_NO_STATS_UPDATE)."""


class ReplyError(Exception):
    """Fails the running command with this error text (e.g. 'ERR syntax error')."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


SYNTAX = "ERR syntax error"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INTEGER = "ERR value is not an integer or out of range"
INVALID_EXPIRE = "ERR invalid expire time in '%s' command"
STRING_TOO_LONG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
DB_OUT_OF_RANGE = "ERR DB index is out of range"
NO_PROTOCOL = "NOPROTO unsupported protocol version"
WRONG_PASS = "WRONGPASS invalid username-password pair or user is disabled."
AUTH_NOT_CONFIGURED = ("ERR AUTH <password> called without any password configured for the "
                       "default user. Are you sure your configuration is correct?")
MAX_CLIENTS = "ERR max number of clients reached"
NOAUTH = "NOAUTH Authentication required."
HELLO_NOAUTH = ("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH "
                "<user> <pass> option can be used to authenticate the client and select the RESP protocol "
                "version at the same time")
PROTECTED_MODE = (
    "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for "
    "the default user. In this mode connections are only accepted from the loopback interface. If you want to "
    "connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable "
    "protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by "
    "connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly "
    "accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively "
    "you can just disable the protected mode by editing the Redis configuration file, and setting the "
    "protected mode option to 'no', and then restarting the server. 3) If you started the server manually "
    "just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication "
    "password for the default user. NOTE: You only need to do one of the above things in order for the server "
    "to start accepting connections from the outside.")
NO_SUCH_KEY = "ERR no such key"
SAME_OBJECT = "ERR source and destination objects are the same"
INVALID_CURSOR = "ERR invalid cursor"
FIRST_DB_INDEX = "ERR invalid first DB index"
SECOND_DB_INDEX = "ERR invalid second DB index"
LFU_NOT_SELECTED = ("ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
                    "Please note that when switching between policies at runtime LRU and LFU data "
                    "will take some time to adjust.")
LFU_SELECTED = ("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
                "switching between policies at runtime LRU and LFU data will take some time to adjust.")
OOM = "OOM command not allowed when used memory > 'maxmemory'."
# RESTORE (commands/dump.py)
BUSYKEY = "BUSYKEY Target key name already exists."
INVALID_TTL = "ERR Invalid TTL value, must be >= 0"
BAD_PAYLOAD = "ERR DUMP payload version or checksum are wrong"
BAD_DATA_FORMAT = "ERR Bad data format"
INVALID_IDLETIME = "ERR Invalid IDLETIME value, must be >= 0"
INVALID_FREQ = "ERR Invalid FREQ value, must be >= 0 and <= 255"
MISCONF_RDB = ("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. "
               "Commands that may modify the data set are disabled, because this instance is configured to report "
               "errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check "
               "the Redis logs for details about the RDB error.")
MISCONF_AOF = "MISCONF Errors writing to the AOF file: %s"
EXPIRE_NX_CONFLICT = "ERR NX and XX, GT or LT options at the same time are not compatible"
EXPIRE_GT_LT_CONFLICT = "ERR GT and LT options at the same time are not compatible"
MUST_BE_POSITIVE = "ERR value is out of range, must be positive"
NUMKEYS_NOT_POSITIVE = "ERR numkeys should be greater than 0"
NUMKEYS_TOO_MANY = "ERR Number of keys can't be greater than number of args"
LIMIT_NEGATIVE = "ERR LIMIT can't be negative"
HASH_NOT_INTEGER = "ERR hash value is not an integer"
HASH_NOT_FLOAT = "ERR hash value is not a float"
INCREMENT_OVERFLOW = "ERR increment or decrement would overflow"
NAN_OR_INFINITY_ARGUMENT = "ERR value is NaN or Infinity"
VALUE_OUT_OF_RANGE = "ERR value is out of range"
INDEX_OUT_OF_RANGE = "ERR index out of range"
RANK_ZERO = ("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
             "or use negative to start from the end of the list")
COUNT_NEGATIVE = "ERR COUNT can't be negative"
MAXLEN_NEGATIVE = "ERR MAXLEN can't be negative"
COUNT_NOT_POSITIVE = "ERR count should be greater than 0"
TIMEOUT_NOT_FLOAT = "ERR timeout is not a float or out of range"
TIMEOUT_NEGATIVE = "ERR timeout is negative"
ZADD_NX_XX = "ERR XX and NX options at the same time are not compatible"
ZADD_GT_LT_NX = "ERR GT, LT, and/or NX options at the same time are not compatible"
ZADD_INCR_PAIRS = "ERR INCR option supports a single increment-element pair"
ZSET_NAN_SCORE = "ERR resulting score is not a number (NaN)"
ZSET_SCORE_RANGE = "ERR min or max is not a float"
ZSET_LEX_RANGE = "ERR min or max not valid string range item"
ZSET_LIMIT_NEEDS_RANGE = "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
ZSET_WITHSCORES_BYLEX = "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
WEIGHT_NOT_FLOAT = "ERR weight value is not a float"
GEO_UNIT = "ERR unsupported unit provided. please use M, KM, FT, MI"
GEO_RADIUS_NOT_NUMERIC = "ERR need numeric radius"
GEO_WIDTH_NOT_NUMERIC = "ERR need numeric width"
GEO_HEIGHT_NOT_NUMERIC = "ERR need numeric height"
GEO_RADIUS_NEGATIVE = "ERR radius cannot be negative"
GEO_BOX_NEGATIVE = "ERR height or width cannot be negative"
GEO_MEMBER = "ERR could not decode requested zset member"
GEO_COUNT = "ERR COUNT must be > 0"
GEO_ANY_NEEDS_COUNT = "ERR the ANY argument requires COUNT argument"
REPLICA_KEYSPACE = "ERR Replica can't interact with the keyspace"
# Replication: the replica's side
READONLY_REPLICA = "READONLY You can't write against a read only replica."
MASTERDOWN = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
LOADING = "LOADING Redis is loading the dataset in memory"
INVALID_MASTER_PORT = "ERR Invalid master port"
REPLICA_CANNOT_REPLICAOF = "ERR Command is not valid when client is a replica."
REPLICAOF_WHILE_FAILING_OVER = "ERR REPLICAOF not allowed while failing over."
NO_FAILOVER_IN_PROGRESS = "ERR No failover in progress."
FAILOVER_IN_PROGRESS = "ERR FAILOVER already in progress."
FAILOVER_ON_REPLICA = "ERR FAILOVER is not valid when server is a replica."
FAILOVER_WITHOUT_REPLICAS = "ERR FAILOVER requires connected replicas."
FAILOVER_FORCE_NEEDS = "ERR FAILOVER with force option requires both a timeout and target HOST and IP."
FAILOVER_TARGET_UNKNOWN = "ERR FAILOVER target HOST and PORT is not a replica."
FAILOVER_TARGET_OFFLINE = "ERR FAILOVER target replica is not online."
FAILOVER_TIMEOUT_NOT_POSITIVE = "ERR FAILOVER timeout must be greater than 0"
PSYNC_FAILOVER_REPLID = "ERR PSYNC FAILOVER replid must match my replid."
SYNC_WHILE_FAILING_OVER = "NOMASTERLINK Can't SYNC while failing over"
SYNC_WITHOUT_MASTER_LINK = "NOMASTERLINK Can't SYNC while not connected with my master"
# SHUTDOWN: one that failed (its waiting callers get it), ABORT without one
SHUTDOWN_FAILED = "ERR Errors trying to SHUTDOWN. Check logs."
NO_SHUTDOWN = "ERR No shutdown in progress."
# Replication: the master's side
NOREPLICAS = "NOREPLICAS Not enough good replicas to write."
REPLCONF_IP_TOO_LONG = "ERR REPLCONF ip-address provided by replica instance is too long: %d bytes"
REPLCONF_UNKNOWN_OPTION = "ERR Unrecognized REPLCONF option: %s"
CLUSTER_DISABLED = "ERR This instance has cluster support disabled"
MIGRATE_KEYS_NEEDS_EMPTY_KEY = "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"
MIGRATE_CONNECT_FAILED = "IOERR error or timeout connecting to the client"
MIGRATE_IO_FAILED = "IOERR error or timeout %s to target instance"
MIGRATE_TARGET_ERROR = "ERR Target instance replied with error: %s"
RDB_FILTER_MISSING = "ERR Missing rdb-filter-only values"
RDB_FILTER_UNSUPPORTED = "ERR Unsupported rdb-filter-only option: %s"
WAIT_ON_REPLICA = ("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a "
                   "replica is configured to be writable (which is not the default) writes to replicas are just "
                   "local and are not propagated.")
WAIT_TIMEOUT_NOT_INTEGER = "ERR timeout is not an integer or out of range"
WAIT_TIMEOUT_NEGATIVE = "ERR timeout is negative"
UNBLOCKED = "UNBLOCKED client unblocked via CLIENT UNBLOCK"
UNBLOCKED_ROLE_CHANGED = "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"
NO_SUCH_CLIENT = "ERR No such client"
CLIENT_ID_NOT_POSITIVE = "ERR client-id should be greater than 0"
INVALID_CLIENT_ID = "ERR Invalid client ID"
PAUSE_TIMEOUT_NOT_INTEGER = "ERR timeout is not an integer or out of range"
PAUSE_MODE = "ERR CLIENT PAUSE mode must be WRITE or ALL"
UNBLOCK_REASON = "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
CLIENT_NAME = "ERR Client names cannot contain spaces, newlines or special characters."
SLOWLOG_COUNT = "ERR count should be greater than or equal to -1"
LATENCY_NO_SAMPLES = "ERR No samples available for event '%s'"
SSUBSCRIBE_DENY_BLOCKING = "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client"
# CLIENT TRACKING and CACHING (commands/tracking.py)
SINGLE_REDIRECT = "ERR A client can only redirect to a single other client"
REDIRECT_MISSING = "ERR The client ID you want redirect to does not exist"
PREFIX_NEEDS_BCAST = "ERR PREFIX option requires BCAST mode to be enabled"
SWITCH_BCAST = ("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then "
                "re-enabling it with a different mode.")
OPTIN_OPTOUT_BCAST = "ERR OPTIN and OPTOUT are not compatible with BCAST"
OPTIN_WITH_OPTOUT = "ERR You can't specify both OPTIN mode and OPTOUT mode"
SWITCH_OPTIN_OPTOUT = ("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then "
                       "re-enabling it with a different mode.")
CACHING_NEEDS_OPTIN_OPTOUT = ("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN "
                              "or OPTOUT mode enabled")
CACHING_YES_NEEDS_OPTIN = "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."
CACHING_NO_NEEDS_OPTOUT = "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."


def _c_string(arg, limit=128):
    """An argument as C's "%.128s" prints it: cut at the first NUL and at limit bytes."""
    return arg.split(b"\0", 1)[0][:limit]


def _error_text(raw):
    """Redis replaces CR and LF with spaces so an error stays one protocol line."""
    return raw.replace(b"\r", b" ").replace(b"\n", b" ").decode("utf-8", "surrogateescape")


def printed(arg):
    """An argument as Redis's "%s" prints it inside an error: cut at NUL, CR and LF made spaces."""
    return _error_text(arg.split(b"\0", 1)[0])


def wrong_arity(fullname):
    return ReplyError("ERR wrong number of arguments for '%s' command" % fullname)


def unknown_command(argv):
    """Redis 7 quotes the name and the first arguments, up to 128 bytes of them."""
    quoted = b""
    for arg in argv[1:]:
        if len(quoted) >= 128:
            break
        quoted += b"'%b' " % _c_string(arg, 128 - len(quoted))
    return ReplyError(_error_text(b"ERR unknown command '%b', with args beginning with: %b"
                                  % (_c_string(argv[0]), quoted)))


def unknown_subcommand(subcommand, container):
    """container is the name as typed (bytes): a renamed CONFIG says 'Try XCONFIG HELP.'"""
    return ReplyError(_error_text(b"ERR unknown subcommand '%b'. Try %b HELP."
                                  % (_c_string(subcommand), container.upper())))


def unsupported_option(option):
    """EXPIRE's unknown flag, printed with "%s": cut at the first NUL, CR and LF made spaces."""
    return ReplyError(_error_text(b"ERR Unsupported option %b" % option.split(b"\0", 1)[0]))


def invalid_expire_time(fullname):
    return ReplyError(INVALID_EXPIRE % fullname)


def subcommand_syntax(argv):
    """Redis's addReplySubcommandSyntaxError: a known subcommand given arguments it does not take."""
    return ReplyError(_error_text(b"ERR unknown subcommand or wrong number of arguments for '%b'. Try %b HELP."
                                  % (_c_string(argv[1]), argv[0].upper())))


def protocol_error(message):
    return "ERR Protocol error: " + message


def protected_command(name, option):
    """DEBUG or MODULE refused by its enable-*-command setting."""
    return ReplyError('ERR %s command not allowed. If the %s option is set to "local", you can run it from a local '
                      'connection, otherwise you need to set this option in the configuration file, and then restart '
                      'the server.' % (name, option))


def at_least_one_key(fullname):
    """ZUNION, ZINTER, ZDIFF and their STORE and CARD forms given numkeys < 1."""
    return ReplyError("ERR at least 1 input key is needed for '%s' command" % fullname)


def geo_invalid_pair(longitude, latitude):
    return ReplyError("ERR invalid longitude,latitude pair %f,%f" % (longitude, latitude))


def geo_store_with_options(geosearchstore):
    return ReplyError("ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
                      % ("GEOSEARCHSTORE" if geosearchstore else "STORE option in GEORADIUS"))


def geo_needs_from(name):
    """GEOSEARCH without its centre; name is the command as the client sent it."""
    return ReplyError("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %s" % printed(name))


def geo_needs_by(name):
    return ReplyError("ERR exactly one of BYRADIUS and BYBOX can be specified for %s" % printed(name))


NO_CONFIG_FILE = "ERR The server is running without a config file"


def config_set_failed(name, reason):
    """CONFIG SET's refusal of one of its parameters (name as the client wrote it, or Redis's own name)."""
    return ReplyError("ERR CONFIG SET failed (possibly related to argument '%s') - %s" % (name, reason))


def config_unknown_option(raw_name):
    return ReplyError("ERR Unknown option or number of arguments for CONFIG SET - '%s'" % printed(raw_name))


def config_rewrite_failed(reason):
    return ReplyError("ERR Rewriting config file: %s" % reason)


# Bitmaps (commands/bitmaps.py) and SORT (commands/sort.py).
BIT_OFFSET = "ERR bit offset is not an integer or out of range"
BIT_NOT_INTEGER = "ERR bit is not an integer or out of range"
BITPOS_BIT = "ERR The bit argument must be 1 or 0."
BITOP_NOT_ONE_KEY = "ERR BITOP NOT must be called with a single source key."
BITFIELD_TYPE = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
BITFIELD_RO_WRITE = "ERR BITFIELD_RO only supports the GET subcommand"
OVERFLOW_TYPE = "ERR Invalid OVERFLOW type specified"
SORT_NOT_DOUBLE = "ERR One or more scores can't be converted into double"

# HyperLogLog (hyperloglog.c)
WRONGTYPE_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value."
INVALID_HLL = "INVALIDOBJ Corrupted HLL object detected"
HLL_NO_KEY = "ERR The specified key does not exist"
HLL_NOT_SPARSE = "ERR HLL encoding is not sparse"


def prefix_overlap(prefix, other, existing):
    """CLIENT TRACKING's clashing prefixes, printed as C's "%s" prints them."""
    return ReplyError("ERR Prefix '%s' overlaps with %s prefix '%s'. Prefixes for a single client must not overlap."
                      % (printed(prefix), "an existing" if existing else "another provided", printed(other)))


def unknown_pfdebug(subcommand):
    return ReplyError("ERR Unknown PFDEBUG subcommand '%s'" % printed(subcommand))


# ------------------------------------------------------------------ scripting (EVAL, FUNCTION)

BUSY_EVAL = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
BUSY_FUNCTION = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL."
NOTBUSY = "NOTBUSY No scripts in execution right now."
UNKILLABLE = ("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either "
              "wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
NUMKEYS_NEGATIVE = "ERR Number of keys can't be negative"
SCRIPT_UNKNOWN_COMMAND = "ERR Unknown Redis command called from script"
SCRIPT_WRONG_ARITY = "ERR Wrong number of args calling Redis command from script"
SCRIPT_NOT_ALLOWED = "ERR This Redis command is not allowed from script"
SCRIPT_NO_ARGUMENTS = "ERR Please specify at least one argument for this redis lib call"
SCRIPT_BAD_ARGUMENT = "ERR Lua redis lib command arguments must be strings or integers"
SCRIPT_STALE_REPLICA = "ERR Can not execute the command on a stale replica"
SCRIPT_READ_ONLY = "ERR Write commands are not allowed from read-only scripts."
SCRIPT_WRITE_WITH_RO = "ERR Can not execute a script with write flag using *_ro command."
SCRIPT_OOM = "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'"
SCRIPT_MISCONF = ("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. "
                  "Writable scripts are blocked. Use 'no-writes' flag for read only scripts.")


# Streams (t_stream.c: commands/streams.py, commands/stream_groups.py)
INVALID_STREAM_ID = "ERR Invalid stream ID specified as stream command argument"
XADD_ZERO_ID = "ERR The ID specified in XADD must be greater than 0-0"
XADD_ID_TOO_SMALL = "ERR The ID specified in XADD is equal or smaller than the target stream top item"
ELEMENTS_TOO_LARGE = "ERR Elements are too large to be stored"
STREAM_EXHAUSTED = "ERR The stream has exhausted the last possible ID, unable to add more items"
MAXLEN_AND_MINID = "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
STREAM_MAXLEN_NEGATIVE = "ERR The MAXLEN argument must be >= 0."
STREAM_LIMIT_NEGATIVE = "ERR The LIMIT argument must be >= 0."
LIMIT_WITHOUT_STRATEGY = "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
LIMIT_WITHOUT_APPROX = "ERR syntax error, LIMIT cannot be used without the special ~ option"
XTRIM_NO_STRATEGY = "ERR syntax error, XTRIM must be called with a trimming strategy"
INVALID_START_ID = "ERR invalid start ID for the interval"
INVALID_END_ID = "ERR invalid end ID for the interval"
GROUP_ONLY_XREADGROUP = "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead."
NOACK_ONLY_XREADGROUP = "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead."
MISSING_GROUP = "ERR Missing GROUP option for XREADGROUP"
DOLLAR_IN_XREADGROUP = ("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of "
                        "this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID "
                        "would just return an empty result set.")
GREATER_ONLY_XREADGROUP = ("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> "
                           "<consumer> option.")
BUSYGROUP = "BUSYGROUP Consumer Group name already exists"
XGROUP_NO_KEY = ("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use "
                 "the MKSTREAM option to create an empty stream automatically.")
ENTRIES_READ_INVALID = "ERR value for ENTRIESREAD must be positive or -1"
XSETID_SMALLER = "ERR The ID specified in XSETID is smaller than the target stream top item"
XSETID_ADDED_SMALLER = "ERR The entries_added specified in XSETID is smaller than the target stream length"
XSETID_MAXDELETED = ("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
XSETID_ENTRIES_ADDED_NEGATIVE = "ERR entries_added must be positive"
INVALID_MIN_IDLE = "ERR Invalid min-idle-time argument for XCLAIM"
INVALID_MIN_IDLE_AUTOCLAIM = "ERR Invalid min-idle-time argument for XAUTOCLAIM"
INVALID_RETRYCOUNT = "ERR Invalid RETRYCOUNT option argument for XCLAIM"
INVALID_TIME = "ERR Invalid TIME option argument for XCLAIM"
INVALID_IDLE = "ERR Invalid IDLE option argument for XCLAIM"
AUTOCLAIM_COUNT = "ERR COUNT must be > 0"
STREAM_KEY_GONE = "UNBLOCKED the stream key no longer exists"  # a blocked XREADGROUP's key deleted or retyped


def unbalanced_streams(command, symbol):
    return ReplyError("ERR Unbalanced '%s' list of streams: for each stream key an ID or '%s' must be specified."
                      % (command, symbol))


def nogroup(key, group, command):
    return ReplyError("NOGROUP No such key '%s' or consumer group '%s' in %s with GROUP option"
                      % (printed(key), printed(group), command))


def no_such_group(key, group):
    return ReplyError("NOGROUP No such consumer group '%s' for key name '%s'" % (printed(group), printed(key)))
