"""Values of the data types modules define (Redis's moduleType and moduleValue, module.c).

A module registers a type under a 9-character name and a 10-bit encoding version; Redis packs both
into the 64-bit id that RDB files carry: each name character is 6 bits of an index into
NAME_CHARSET (54 bits), then the version (10 bits). A stored value is a ModuleValue: the module's
own object beside its ModuleType, whose callbacks the layers above call without knowing the module
(persistence writes it with save(), COPY duplicates it with copy(), MEMORY USAGE asks memory_usage()).
"""
from errors import ReplyError

NAME_CHARSET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
NAME_LENGTH = 9
ENCODING_VERSION_MAX = 1023
COPY_UNSUPPORTED = "ERR not supported for this module key"
COPY_FAILED = "ERR module key failed to copy"


def type_id(name, encoding_version):
    """moduleTypeEncodeId: the 64-bit id of a type name and encoding version, or None if either is invalid."""
    if len(name) != NAME_LENGTH or not 0 <= encoding_version <= ENCODING_VERSION_MAX:
        return None
    packed = 0
    for char in name:
        position = NAME_CHARSET.find(char)
        if position < 0:
            return None
        packed = packed << 6 | position
    return packed << 10 | encoding_version


def name_of_id(module_type_id):
    """moduleTypeNameByID: the 9-character name an id carries."""
    bits = module_type_id >> 10
    return "".join(NAME_CHARSET[bits >> shift & 63] for shift in range(48, -1, -6))


class ModuleType:
    """A registered data type: its name, id, the module that owns it and the module's callbacks
    (save(writer, value), load(reader, encoding_version), rewrite(key, value), memory_usage(value),
    copy(value)); a callback the module did not give is None."""

    __slots__ = ("name", "encoding_version", "id", "module_name", "save", "load", "rewrite", "memory_usage", "copy")

    def __init__(self, name, encoding_version, module_name, save=None, load=None, rewrite=None, memory_usage=None,
                 copy=None):
        self.name = name
        self.encoding_version = encoding_version
        self.id = type_id(name, encoding_version)
        self.module_name = module_name
        self.save, self.load, self.rewrite = save, load, rewrite
        self.memory_usage, self.copy = memory_usage, copy

    def __repr__(self):
        return "<module type %s (module %s)>" % (self.name, self.module_name)


class ModuleValue:
    """A key's value of a module type: TYPE shows the type's name, OBJECT ENCODING 'raw' (Redis's module
    objects are OBJ_ENCODING_RAW)."""

    __slots__ = ("module_type", "value")

    def __init__(self, module_type, value):
        self.module_type = module_type
        self.value = value

    @property
    def redis_type(self):
        return self.module_type.name

    def encoding(self):
        return "raw"

    def memory_usage(self):
        """The type's memory_usage callback's answer, 0 without one (moduleGetMemUsage)."""
        measure = self.module_type.memory_usage
        return measure(self.value) if measure is not None else 0

    def copy(self):
        """COPY's duplicate (moduleTypeDupOrReply): ReplyError if the type cannot copy or its copy failed."""
        duplicate = self.module_type.copy
        if duplicate is None:
            raise ReplyError(COPY_UNSUPPORTED)
        copied = duplicate(self.value)
        if copied is None:
            raise ReplyError(COPY_FAILED)
        return ModuleValue(self.module_type, copied)


class ModuleTypes:
    """The types the loaded modules registered, by name and by id without the encoding version (how Redis's
    moduleTypeLookupModuleByID matches a value an RDB file names)."""

    def __init__(self):
        self.by_name = {}
        self.by_id = {}

    def add(self, module_type):
        self.by_name[module_type.name] = module_type
        self.by_id[module_type.id >> 10] = module_type

    def remove(self, module_type):
        self.by_name.pop(module_type.name, None)
        self.by_id.pop(module_type.id >> 10, None)

    def find_by_id(self, module_type_id):
        return self.by_id.get(module_type_id >> 10)
