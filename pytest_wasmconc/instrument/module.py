"""Parse a core module's layout: sections, and the index spaces we touch.

Only what instrumentation needs is decoded here (types, imports, function
types, memories, code bodies); the other sections are kept as byte spans and
decoded by `sections` only when function indices inside them must shift.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .decode import skip_valtype
from .errors import InstrumentError
from .reader import Reader

__all__ = [
    "SECTION_ORDER",
    "FuncBody",
    "FuncSig",
    "ImportInfo",
    "MemoryInfo",
    "ModuleInfo",
    "Section",
    "check_header",
    "parse_module",
]

MAGIC = b"\0asm"
CORE_VERSION = b"\x01\x00\x00\x00"

# Where each known section id must appear (custom sections, id 0, anywhere).
SECTION_ORDER = {
    1: 1,
    2: 2,
    3: 3,
    4: 4,
    5: 5,
    13: 6,
    6: 7,
    7: 8,
    8: 9,
    9: 10,
    12: 11,
    10: 12,
    11: 13,
}

FUNC, TABLE, MEMORY, GLOBAL, TAG = 0, 1, 2, 3, 4


@dataclass
class Section:
    id: int
    start: int  # offset of the section id byte
    payload: int  # first payload byte
    end: int  # one past the last payload byte
    name: str | None = None  # custom sections only
    body: int = 0  # custom sections: first byte after the name


@dataclass(frozen=True)
class FuncSig:
    """A function type; value types as their raw encodings (b"\\x7f" is i32)."""

    params: tuple[bytes, ...]
    results: tuple[bytes, ...]


@dataclass
class FuncBody:
    index: int  # function index in the original module
    start: int  # offset of the body's size field
    locals_start: int  # first byte of the locals vector
    code_start: int  # first instruction
    end: int  # one past the final `end`
    locals: list[tuple[int, bytes]]  # (count, raw value type) groups
    num_locals: int  # declared locals, params excluded


@dataclass(frozen=True)
class MemoryInfo:
    index: int
    shared: bool
    memory64: bool
    imported: bool


@dataclass(frozen=True)
class ImportInfo:
    module: str
    name: str
    kind: int
    type_index: int | None  # functions and tags
    # Globals: (raw value type, mutability byte: 0x01 mutable, 0x02 shared);
    # the stack-frame analysis asks.
    global_type: tuple[bytes, int] | None = None


@dataclass
class ModuleInfo:
    data: bytes
    sections: list[Section]
    type_count: int = 0
    # Type indices of function types, with their signature.
    func_sigs: dict[int, FuncSig] = field(default_factory=dict)
    # Bare `(func ...)` types (own implicit rec group, final, no supertype):
    # the only kind a new import may reuse, keyed by their encoding.
    plain_func_types: dict[bytes, int] = field(default_factory=dict)
    imports: list[ImportInfo] = field(default_factory=list)
    num_imported_funcs: int = 0
    func_types: list[int] = field(default_factory=list)  # type index per function index
    memories: list[MemoryInfo] = field(default_factory=list)
    bodies: list[FuncBody] = field(default_factory=list)
    # Global index space: imported globals first, then the global section's.
    num_imported_globals: int = 0
    num_defined_globals: int = 0

    def section(self, sid: int) -> Section | None:
        for s in self.sections:
            if s.id == sid:
                return s
        return None

    def custom(self, name: str) -> Section | None:
        for s in self.sections:
            if s.id == 0 and s.name == name:
                return s
        return None

    @property
    def num_funcs(self) -> int:
        return len(self.func_types)


def check_header(data: bytes) -> None:
    if len(data) == 0:
        raise InstrumentError(0, "empty input: not a WebAssembly module")
    head = data[:4]
    if head != MAGIC[: len(head)]:
        raise InstrumentError(0, "not a WebAssembly binary (bad magic number)")
    if len(data) < 8:
        raise InstrumentError(len(data), "truncated WebAssembly header")
    version = data[4:8]
    if version == CORE_VERSION:
        return
    if version[2:4] == b"\x01\x00":  # layer 1: the component model
        raise InstrumentError(
            4, "this is a WebAssembly component, not a core module (layer 1 header)"
        )
    raise InstrumentError(4, f"unsupported WebAssembly version {version.hex()}")


def _limits(r: Reader) -> tuple[int, bool, bool]:
    """Read limits; returns (flags, shared, is64)."""
    flags = r.u8()
    if flags & ~0x0F:
        raise r.fail(f"invalid limits flags 0x{flags:02x}", r.pos - 1)
    r.u64()
    if flags & 0x01:
        r.u64()
    if flags & 0x08:  # custom-page-sizes: page size log2
        r.u32()
    return flags, bool(flags & 0x02), bool(flags & 0x04)


def _valtype(r: Reader) -> bytes:
    start = r.pos
    try:
        r.pos = skip_valtype(r.data, r.pos)
    except IndexError:
        raise r.fail("unexpected end of data in value type") from None
    if r.pos > r.end:
        raise r.fail("value type runs past the end of its section", start)
    return r.data[start : r.pos]


def _tabletype(r: Reader) -> None:
    _valtype(r)
    _limits(r)


def _globaltype(r: Reader) -> tuple[bytes, int]:
    valtype = _valtype(r)
    return valtype, r.u8()


def _parse_types(info: ModuleInfo, r: Reader) -> None:
    count = r.u32()
    index = 0
    for _ in range(count):
        entry_start = r.pos
        if r.peek() == 0x4E:  # rec group
            r.u8()
            n = r.u32()
            for _ in range(n):
                _subtype(info, r, index)
                index += 1
        else:
            bare = r.peek() == 0x60
            _subtype(info, r, index)
            if bare:
                info.plain_func_types.setdefault(r.data[entry_start : r.pos], index)
            index += 1
    info.type_count = index


def _subtype(info: ModuleInfo, r: Reader, index: int) -> None:
    b = r.peek()
    if b in (0x50, 0x4F):  # sub / sub final
        r.u8()
        for _ in range(r.u32()):
            r.u32()
    # custom-descriptors (describes / descriptor) and shared-everything prefixes
    while r.peek() in (0x4D, 0x4C, 0x65):
        if r.u8() != 0x65:
            r.u32()
    form = r.u8()
    if form == 0x60:
        params = tuple(_valtype(r) for _ in range(r.u32()))
        results = tuple(_valtype(r) for _ in range(r.u32()))
        info.func_sigs[index] = FuncSig(params, results)
    elif form == 0x5F:  # struct
        for _ in range(r.u32()):
            _fieldtype(r)
    elif form == 0x5E:  # array
        _fieldtype(r)
    elif form == 0x5D:  # cont (stack switching)
        r.s33()
    else:
        raise r.fail(f"unknown type form 0x{form:02x}", r.pos - 1)


def _fieldtype(r: Reader) -> None:
    if r.peek() in (0x78, 0x77):  # packed i8 / i16
        r.u8()
    else:
        _valtype(r)
    r.u8()  # mutability


# An import's external type: (kind, type index, memory info, global type).
_ImportDesc = tuple[int, int | None, MemoryInfo | None, tuple[bytes, int] | None]


def _import_desc(r: Reader) -> _ImportDesc:
    """Read an import's external type."""
    kind = r.u8()
    if kind == FUNC:
        return kind, r.u32(), None, None
    if kind == TABLE:
        _tabletype(r)
    elif kind == MEMORY:
        _, shared, is64 = _limits(r)
        return kind, None, MemoryInfo(0, shared, is64, True), None
    elif kind == GLOBAL:
        return kind, None, None, _globaltype(r)
    elif kind == TAG:
        r.u8()
        return kind, r.u32(), None, None
    else:
        raise r.fail(f"unknown import kind 0x{kind:02x}", r.pos - 1)
    return kind, None, None, None


def _add_import(info: ModuleInfo, module: str, name: str, desc: _ImportDesc) -> None:
    kind, type_index, memory, global_type = desc
    if kind == FUNC and type_index is not None:
        info.func_types.append(type_index)
        info.num_imported_funcs += 1
    elif memory is not None:
        info.memories.append(MemoryInfo(len(info.memories), memory.shared, memory.memory64, True))
    elif kind == GLOBAL:
        info.num_imported_globals += 1
    info.imports.append(ImportInfo(module, name, kind, type_index, global_type))


def _parse_imports(info: ModuleInfo, r: Reader) -> None:
    for _ in range(r.u32()):
        module = r.name()
        # The compact-import-section encoding: an empty item name followed
        # by 0x7F (items share the module name) or 0x7E (and the type too).
        if r.pos + 1 < r.end and r.data[r.pos] == 0x00 and r.data[r.pos + 1] in (0x7F, 0x7E):
            r.skip(1)
            if r.u8() == 0x7F:
                for _ in range(r.u32()):
                    item = r.name()
                    _add_import(info, module, item, _import_desc(r))
            else:
                desc = _import_desc(r)
                for _ in range(r.u32()):
                    _add_import(info, module, r.name(), desc)
            continue
        item = r.name()
        _add_import(info, module, item, _import_desc(r))


def _parse_code(info: ModuleInfo, r: Reader) -> None:
    count = r.u32()
    defined = info.num_funcs - info.num_imported_funcs
    if count != defined:
        raise r.fail(f"code section has {count} bodies but the function section declares {defined}")
    for i in range(count):
        start = r.pos
        size = r.u32()
        locals_start = r.pos
        end = locals_start + size
        if end > r.end:
            raise r.fail("function body runs past the end of the code section", start)
        body = Reader(r.data, locals_start, end)
        groups: list[tuple[int, bytes]] = []
        total = 0
        for _ in range(body.u32()):
            n = body.u32()
            groups.append((n, _valtype(body)))
            total += n
        info.bodies.append(
            FuncBody(info.num_imported_funcs + i, start, locals_start, body.pos, end, groups, total)
        )
        r.pos = end


def parse_module(data: bytes) -> ModuleInfo:
    """Parse the module layout. Raises `InstrumentError` for anything malformed."""
    check_header(data)
    info = ModuleInfo(data=data, sections=[])
    r = Reader(data, 8)
    last_order = 0
    while not r.at_end():
        start = r.pos
        sid = r.u8()
        size = r.u32()
        payload = r.pos
        end = payload + size
        if end > len(data):
            raise InstrumentError(
                start, f"section {sid} claims {size} bytes but only {len(data) - payload} remain"
            )
        if sid != 0:
            order = SECTION_ORDER.get(sid)
            if order is None:
                raise InstrumentError(start, f"unknown section id {sid}")
            if order <= last_order:
                raise InstrumentError(start, f"section {sid} is out of order or repeated")
            last_order = order
        sec = Section(sid, start, payload, end)
        body = Reader(data, payload, end)
        if sid == 0:
            sec.name = body.name()
            sec.body = body.pos
        elif sid == 1:
            _parse_types(info, body)
        elif sid == 2:
            _parse_imports(info, body)
        elif sid == 3:
            for _ in range(body.u32()):
                info.func_types.append(body.u32())
        elif sid == 5:
            for _ in range(body.u32()):
                _, shared, is64 = _limits(body)
                info.memories.append(MemoryInfo(len(info.memories), shared, is64, False))
        elif sid == 10:
            _parse_code(info, body)
        elif sid == 6:
            info.num_defined_globals = body.u32()
            body.pos = end  # entries decoded lazily (remap_globals)
        else:
            body.pos = end  # decoded lazily, only if indices inside must shift
        if sid != 0 and body.pos != end:
            raise InstrumentError(body.pos, f"section {sid} has {end - body.pos} trailing bytes")
        info.sections.append(sec)
        r.pos = end
    if info.section(10) is None and info.num_funcs > info.num_imported_funcs:
        raise InstrumentError(len(data), "function section without a code section")
    return info
