"""Shift function indices in the non-code sections that hold them.

Each function takes a section payload span and a `remap` from original to
new function index, and returns the new payload (bytes that are not indices
are copied as they were). Data segments are left alone on purpose: their
offsets must be i32/i64 constant expressions, which cannot hold a funcref.
"""

from __future__ import annotations

from collections.abc import Callable

from .decode import decode_expr, skip_valtype
from .errors import InstrumentError
from .module import FUNC
from .opcodes import FUNC_INDEX_OPS
from .reader import Reader, uleb

__all__ = [
    "remap_elements",
    "remap_exports",
    "remap_expr",
    "remap_globals",
    "remap_start",
    "remap_tables",
]

Remap = Callable[[int], int]


def remap_expr(r: Reader, remap: Remap, out: list[bytes]) -> None:
    """Copy the constant expression at `r.pos` into `out`, shifting ref.func."""
    start = r.pos
    instrs, end = decode_expr(r.data, start, r.end)
    last = start
    for ins in instrs:
        if ins.op in FUNC_INDEX_OPS:
            new = remap(ins.imm[0])
            if new != ins.imm[0]:
                out.append(r.data[last : ins.start])
                out.append(bytes((ins.op,)) + uleb(new))
                last = ins.end
    out.append(r.data[last:end])
    r.pos = end


def _copy(r: Reader, start: int, out: list[bytes]) -> None:
    out.append(r.data[start : r.pos])


def remap_exports(data: bytes, payload: int, end: int, remap: Remap) -> bytes:
    r = Reader(data, payload, end)
    out: list[bytes] = []
    count = r.u32()
    _copy(r, payload, out)
    for _ in range(count):
        start = r.pos
        r.name()
        kind = r.u8()
        _copy(r, start, out)
        index = r.u32()
        out.append(uleb(remap(index)) if kind == FUNC else uleb(index))
    _check_end(r)
    return b"".join(out)


def remap_start(data: bytes, payload: int, end: int, remap: Remap) -> bytes:
    r = Reader(data, payload, end)
    index = r.u32()
    _check_end(r)
    return uleb(remap(index))


def _reftype(r: Reader) -> None:
    try:
        r.pos = skip_valtype(r.data, r.pos)
    except IndexError:
        raise r.fail("unexpected end of data in reference type") from None


def remap_elements(data: bytes, payload: int, end: int, remap: Remap) -> bytes:
    r = Reader(data, payload, end)
    out: list[bytes] = []
    count = r.u32()
    _copy(r, payload, out)
    for _ in range(count):
        start = r.pos
        flags = r.u32()
        if flags > 7:
            raise r.fail(f"invalid element segment flags {flags}", start)
        _copy(r, start, out)
        if not flags & 0x01:  # active: [table index] offset expression
            if flags & 0x02:
                start = r.pos
                r.u32()
                _copy(r, start, out)
            remap_expr(r, remap, out)
        if flags & 0x03:  # an element kind / reference type is present
            start = r.pos
            if flags & 0x04:
                _reftype(r)
            else:
                r.u8()  # elemkind 0x00 (funcref)
            _copy(r, start, out)
        n = r.u32()
        out.append(uleb(n))
        if flags & 0x04:
            for _ in range(n):
                remap_expr(r, remap, out)
        else:
            for _ in range(n):
                out.append(uleb(remap(r.u32())))
    _check_end(r)
    return b"".join(out)


def remap_globals(data: bytes, payload: int, end: int, remap: Remap) -> bytes:
    r = Reader(data, payload, end)
    out: list[bytes] = []
    count = r.u32()
    _copy(r, payload, out)
    for _ in range(count):
        start = r.pos
        _reftype(r)  # any value type
        r.u8()  # mutability
        _copy(r, start, out)
        remap_expr(r, remap, out)
    _check_end(r)
    return b"".join(out)


def remap_tables(data: bytes, payload: int, end: int, remap: Remap) -> bytes:
    r = Reader(data, payload, end)
    out: list[bytes] = []
    count = r.u32()
    _copy(r, payload, out)
    for _ in range(count):
        start = r.pos
        has_init = r.peek() == 0x40  # 0x40 0x00 tabletype expr (function references)
        if has_init:
            r.u8()
            r.u8()
        _reftype(r)
        flags = r.u8()
        r.u64()
        if flags & 0x01:
            r.u64()
        _copy(r, start, out)
        if has_init:
            remap_expr(r, remap, out)
    _check_end(r)
    return b"".join(out)


def _check_end(r: Reader) -> None:
    if r.pos != r.end:
        raise InstrumentError(r.pos, "section has trailing bytes")
