"""A module value in RDB files and DUMP payloads, as Redis 7.0 writes it (RDB_TYPE_MODULE_2):

    the type's 64-bit id as a length, then what the type's save callback wrote, each item an
    opcode and its value: UINT (1 length; signed integers too, as their two's complement), FLOAT
    (4 bytes LE), DOUBLE (8 bytes LE), STRING (an RDB string), and the EOF opcode after the last

The value's own type object (storage/module_values.py) does the writing and reading through a
ModuleWriter and a ModuleReader, which are what RedisModule_Save* and RedisModule_Load* are to a C
module; which module that is stays unknown here.
"""
import struct

from storage.module_values import ModuleValue, name_of_id

OPCODE_EOF, OPCODE_SINT, OPCODE_UINT, OPCODE_FLOAT, OPCODE_DOUBLE, OPCODE_STRING = 0, 1, 2, 3, 4, 5
UINT64 = 1 << 64
OPCODE_NAMES = {OPCODE_UINT: "an integer", OPCODE_FLOAT: "a float", OPCODE_DOUBLE: "a double",
                OPCODE_STRING: "a string"}


class ModuleWriter:
    """What a type's save(writer, value) writes with: RedisModule_SaveUnsigned, SaveSigned, SaveDouble,
    SaveFloat, SaveString."""

    def __init__(self, string, encode_length):
        self._string = string  # objects.encode_string, with the file's compression
        self._length = encode_length
        self.parts = []

    def unsigned(self, number):
        if not 0 <= number < UINT64:
            raise ValueError("an unsigned module value must fit 64 bits: %r" % (number,))
        self.parts.append(self._length(OPCODE_UINT) + self._length(number))

    def signed(self, number):
        if not -(UINT64 >> 1) <= number < UINT64 >> 1:
            raise ValueError("a signed module value must fit 64 bits: %r" % (number,))
        self.unsigned(number % UINT64)

    def double(self, number):
        self.parts.append(self._length(OPCODE_DOUBLE) + struct.pack("<d", number))

    def float(self, number):
        self.parts.append(self._length(OPCODE_FLOAT) + struct.pack("<f", number))

    def string(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        self.parts.append(self._length(OPCODE_STRING) + self._string(bytes(data)))


class ModuleReader:
    """What a type's load(reader, encoding_version) reads with; an item of another kind than the one asked
    for is a corrupt file (Redis's moduleRDBLoadError)."""

    def __init__(self, source, module_type):
        self._source = source
        self._type = module_type

    def _expect(self, opcode):
        found = self._source.plain_length()
        if found != opcode:
            raise ModuleDataError("Error loading data from RDB (short read or EOF). Read performed by module '%s' "
                                  "about type '%s': expected %s" % (self._type.module_name, self._type.name,
                                                                    OPCODE_NAMES[opcode]))

    def unsigned(self):
        self._expect(OPCODE_UINT)
        return self._source.plain_length()

    def signed(self):
        number = self.unsigned()
        return number - UINT64 if number >= UINT64 >> 1 else number

    def double(self):
        self._expect(OPCODE_DOUBLE)
        return self._source.unpack("<d")

    def float(self):
        self._expect(OPCODE_FLOAT)
        return self._source.unpack("<f")

    def string(self):
        self._expect(OPCODE_STRING)
        return self._source.string()


class ModuleDataError(Exception):
    """A module value that cannot be read back; objects.py makes it an RDBError."""


def encode_module(value, string, encode_length):
    """A ModuleValue's RDB_TYPE_MODULE_2 bytes (after the type byte): its id, its save callback's items, EOF."""
    module_type = value.module_type
    if module_type.save is None:
        raise ModuleDataError("module type %s cannot be saved: it has no save callback" % module_type.name)
    writer = ModuleWriter(string, encode_length)
    module_type.save(writer, value.value)
    return encode_length(module_type.id) + b"".join(writer.parts) + encode_length(OPCODE_EOF)


def load_module(source, module_types):
    """The ModuleValue of an RDB_TYPE_MODULE_2 value: its type found by its id among module_types
    (storage/module_values.py's ModuleTypes), the value its load callback reads, then the EOF opcode."""
    type_id = source.plain_length()
    module_type = module_types.find_by_id(type_id)
    if module_type is None:
        raise ModuleDataError("The RDB file contains module data I can't load: no matching module type '%s'"
                              % name_of_id(type_id))
    if module_type.load is None:
        raise ModuleDataError("module type %s cannot be loaded: it has no load callback" % module_type.name)
    try:
        value = module_type.load(ModuleReader(source, module_type), type_id & 1023)
    except ModuleDataError:
        raise
    except Exception as error:  # noqa: BLE001 (a module's failure to read is a corrupt value, never a crash)
        raise ModuleDataError("module type %s failed to load a value: %s: %s"
                              % (module_type.name, type(error).__name__, error)) from None
    if source.plain_length() != OPCODE_EOF:
        raise ModuleDataError("The RDB file contains module data for the module '%s' that is not terminated by "
                              "the proper module value EOF marker" % module_type.module_name)
    if value is None:
        raise ModuleDataError("The RDB file contains module data for the module type '%s', that the responsible "
                              "module is not able to load. Check for modules log above for additional clues."
                              % module_type.module_name)
    return ModuleValue(module_type, value)
