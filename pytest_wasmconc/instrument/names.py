"""The "name" custom section: read function names, shift function indices.

Names are debugging aids that wasmtime reads leniently, so a name section we
cannot parse is never fatal: readers return nothing and the writer keeps the
section as it was (stale names beat refusing to run the guest).
"""

from __future__ import annotations

from collections.abc import Callable

from .errors import InstrumentError
from .module import ModuleInfo, check_header
from .reader import Reader, uleb

__all__ = ["function_names_of", "global_names_of", "read_function_names", "remap_name_section"]

MODULE_NAMES, FUNCTION_NAMES, LOCAL_NAMES, LABEL_NAMES = 0, 1, 2, 3
GLOBAL_NAMES = 7  # the extended-name-section subsection LLVM writes
# Subsections keyed by function index at their outer level.
_FUNC_KEYED = (FUNCTION_NAMES, LOCAL_NAMES, LABEL_NAMES)


def _subsections(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(id, header start, content start, content end) for each subsection."""
    r = Reader(data, start, end)
    out = []
    while not r.at_end():
        head = r.pos
        sid = r.u8()
        size = r.u32()
        if r.pos + size > end:
            raise r.fail("name subsection runs past the section end", head)
        out.append((sid, head, r.pos, r.pos + size))
        r.pos += size
    return out


def read_function_names(data: bytes, start: int, end: int) -> dict[int, str]:
    """Function names from a name-section body; {} when it is malformed."""
    return _read_name_map(data, start, end, FUNCTION_NAMES)


def _read_name_map(data: bytes, start: int, end: int, wanted: int) -> dict[int, str]:
    try:
        names: dict[int, str] = {}
        for sid, _, cstart, cend in _subsections(data, start, end):
            if sid != wanted:
                continue
            r = Reader(data, cstart, cend)
            for _ in range(r.u32()):
                index = r.u32()
                names[index] = r.name()
        return names
    except InstrumentError:
        return {}


def function_names_of(info: ModuleInfo) -> dict[int, str]:
    sec = info.custom("name")
    if sec is None:
        return {}
    return read_function_names(info.data, sec.body, sec.end)


def global_names_of(info: ModuleInfo) -> dict[int, str]:
    """Global index -> name (the name section's global-names subsection); {} if none."""
    sec = info.custom("name")
    if sec is None:
        return {}
    return _read_name_map(info.data, sec.body, sec.end, GLOBAL_NAMES)


def _remap_map(r: Reader, remap: Callable[[int], int], indirect: bool) -> bytes:
    out = [uleb(n := r.u32())]
    for _ in range(n):
        out.append(uleb(remap(r.u32())))
        start = r.pos
        if indirect:
            for _ in range(r.u32()):
                r.u32()
                r.name()
        else:
            r.name()
        out.append(r.data[start : r.pos])
    if not r.at_end():
        raise r.fail("name subsection has trailing bytes")
    return b"".join(out)


def remap_name_section(
    data: bytes, body_start: int, end: int, remap: Callable[[int], int]
) -> bytes | None:
    """New name-section body (after the "name" string), or None to keep it as is."""
    try:
        out = []
        for sid, head, cstart, cend in _subsections(data, body_start, end):
            if sid in _FUNC_KEYED:
                content = _remap_map(Reader(data, cstart, cend), remap, sid != FUNCTION_NAMES)
                out.append(bytes((sid,)) + uleb(len(content)) + content)
            else:
                out.append(data[head:cend])
        return b"".join(out)
    except InstrumentError:
        return None


def function_names(wasm: bytes) -> dict[int, str]:
    """Function index -> name from the module's name section; {} if none.

    Raises `InstrumentError` only when `wasm` is not a core module at all.
    """
    data = bytes(wasm)
    check_header(data)
    r = Reader(data, 8)
    # Walk sections without decoding them: names are wanted cheaply, and
    # the rest of the module may legitimately use features we do not parse.
    while not r.at_end():
        sid = r.u8()
        size = r.u32()
        end = r.pos + size
        if end > len(data):
            raise InstrumentError(r.pos, "section runs past the end of the input")
        if sid == 0:
            sub = Reader(data, r.pos, end)
            if sub.name() == "name":
                return read_function_names(data, sub.pos, end)
        r.pos = end
    return {}
