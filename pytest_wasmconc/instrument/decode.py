"""Decode an instruction sequence into `Instr`s with exact byte spans.

This is the hot loop of the instrumenter (every instruction of every function
goes through it when a module has atomics), so it works on (bytes, offset)
pairs with local variables rather than through `Reader`, and it only builds
tuples for immediates. Offsets are absolute positions in the module bytes, so
an unchanged instruction can be copied verbatim with `data[start:end]`.
"""

from __future__ import annotations

from typing import Any

from .errors import InstrumentError
from .opcodes import (
    BLOCK,
    BR_ON_CAST,
    BR_TABLE,
    BYTE,
    F32,
    F64,
    HEAPTYPE,
    I32,
    I64,
    LANE,
    MEMARG,
    MEMARG_LANE,
    NONE,
    PREFIXED,
    RESUME,
    RESUME_THROW,
    SELECT_T,
    SINGLE,
    TRY_TABLE,
    U32,
    U32_U32,
    V128,
)

__all__ = ["Instr", "decode_expr", "read_sleb", "read_uleb", "skip_heaptype", "skip_valtype"]

_REF_TYPE_PREFIXES = (0x63, 0x64)  # (ref null ht), (ref ht)
_SHARED = 0x65  # shared-everything-threads heap type prefix


class Instr:
    """One decoded instruction.

    `op` is the opcode key (see `opcodes`), `start`/`end` its byte span in
    the module, `imm` its immediates: ints, except br_table
    `((labels...), default)` and try_table `(blocktype, ((kind, tag|None,
    label), ...))`; memarg is `(align, memidx, offset)`; heap/value types are
    kept as the offset where they start (nobody rewrites them).
    """

    __slots__ = ("end", "imm", "op", "start")

    def __init__(self, op: int, start: int, end: int, imm: tuple[Any, ...]) -> None:
        self.op = op
        self.start = start
        self.end = end
        self.imm = imm

    def __repr__(self) -> str:
        return f"Instr(0x{self.op:x}, {self.start}..{self.end}, {self.imm!r})"


def read_uleb(data: bytes, pos: int) -> tuple[int, int]:
    """(value, new position). Bounds are the caller's (IndexError past the data)."""
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    result = b & 0x7F
    shift = 7
    start = pos
    pos += 1
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise InstrumentError(start, "LEB128 integer is too long")


def read_sleb(data: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    start = pos
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            if b & 0x40:
                result -= 1 << shift
            return result, pos
        if shift > 70:
            raise InstrumentError(start, "LEB128 integer is too long")


def skip_heaptype(data: bytes, pos: int) -> int:
    if data[pos] == _SHARED:
        pos += 1
    _, pos = read_sleb(data, pos)
    return pos


def skip_valtype(data: bytes, pos: int) -> int:
    b = data[pos]
    if b in _REF_TYPE_PREFIXES:
        return skip_heaptype(data, pos + 1)
    if b >= 0x80:
        raise InstrumentError(pos, f"invalid value type 0x{b:02x}")
    return pos + 1


def _blocktype(data: bytes, pos: int) -> tuple[int, int]:
    # Value: the s33 (a type index, or negative for 0x40/a one-byte value
    # type); for (ref ...) types the prefix byte's s33 value (-29 / -28).
    b = data[pos]
    if b in _REF_TYPE_PREFIXES:
        return b - 0x80, skip_heaptype(data, pos + 1)
    return read_sleb(data, pos)


def _handlers(data: bytes, pos: int) -> tuple[tuple[tuple[int, ...], ...], int]:
    n, pos = read_uleb(data, pos)
    out: list[tuple[int, ...]] = []
    for _ in range(n):
        kind = data[pos]
        pos += 1
        tag, pos = read_uleb(data, pos)
        if kind == 0x00:  # (on tag label)
            label, pos = read_uleb(data, pos)
            out.append((kind, tag, label))
        elif kind == 0x01:  # (on tag switch)
            out.append((kind, tag))
        else:
            raise InstrumentError(pos - 1, f"invalid resume handler kind 0x{kind:02x}")
    return tuple(out), pos


def decode_expr(data: bytes, pos: int, limit: int) -> tuple[list[Instr], int]:
    """Decode from `pos` through the `end` that closes the expression.

    Returns the instructions (the closing `end` included) and the position
    after it. Raises `InstrumentError` for an unknown opcode, or when the
    expression runs past `limit` or stops before its closing `end`.
    """
    out: list[Instr] = []
    append = out.append
    single = SINGLE
    prefixed = PREFIXED
    depth = 1
    start = pos
    try:
        while True:
            if pos >= limit:
                raise InstrumentError(pos, "expression ends without its final `end`")
            start = pos
            op = data[pos]
            pos += 1
            kind = single[op]
            if kind < 0:
                if 0xFB <= op <= 0xFE:
                    b = data[pos]
                    if b < 0x80:
                        sub = b
                        pos += 1
                    else:
                        sub, pos = read_uleb(data, pos)
                    op = op << 16 | sub
                    kind = prefixed.get(op, -1)
                    if kind < 0:
                        raise InstrumentError(start, f"unknown opcode 0x{op >> 16:02x} 0x{sub:x}")
                else:
                    raise InstrumentError(start, f"unknown opcode 0x{op:02x}")
            imm: tuple[Any, ...]
            if kind == NONE:
                imm = ()
                if op == 0x0B:
                    depth -= 1
            elif kind == U32:
                b = data[pos]
                if b < 0x80:
                    imm = (b,)
                    pos += 1
                else:
                    v, pos = read_uleb(data, pos)
                    imm = (v,)
                if op == 0x18:  # delegate closes its try block
                    depth -= 1
            elif kind == MEMARG:
                align, pos = read_uleb(data, pos)
                mem = 0
                if align & 0x40:
                    mem, pos = read_uleb(data, pos)
                    align &= ~0x40
                offset, pos = read_uleb(data, pos)
                imm = (align, mem, offset)
            elif kind == I32 or kind == I64:
                v, pos = read_sleb(data, pos)
                imm = (v,)
            elif kind == BLOCK:
                bt, pos = _blocktype(data, pos)
                imm = (bt,)
                depth += 1
            elif kind == U32_U32:
                a, pos = read_uleb(data, pos)
                c, pos = read_uleb(data, pos)
                imm = (a, c)
            elif kind == F32:
                imm = ()
                pos += 4
            elif kind == F64:
                imm = ()
                pos += 8
            elif kind == BR_TABLE:
                n, pos = read_uleb(data, pos)
                labels = []
                for _ in range(n):
                    v, pos = read_uleb(data, pos)
                    labels.append(v)
                default, pos = read_uleb(data, pos)
                imm = (tuple(labels), default)
            elif kind == V128:
                imm = ()
                pos += 16
            elif kind == LANE:
                imm = (data[pos],)
                pos += 1
            elif kind == MEMARG_LANE:
                align, pos = read_uleb(data, pos)
                mem = 0
                if align & 0x40:
                    mem, pos = read_uleb(data, pos)
                    align &= ~0x40
                offset, pos = read_uleb(data, pos)
                imm = (align, mem, offset, data[pos])
                pos += 1
            elif kind == SELECT_T:
                n, pos = read_uleb(data, pos)
                for _ in range(n):
                    pos = skip_valtype(data, pos)
                imm = (n,)
            elif kind == HEAPTYPE:
                imm = (pos,)
                pos = skip_heaptype(data, pos)
            elif kind == TRY_TABLE:
                bt, pos = _blocktype(data, pos)
                n, pos = read_uleb(data, pos)
                catches: list[tuple[int, int | None, int]] = []
                for _ in range(n):
                    ck = data[pos]
                    pos += 1
                    if ck == 0x00 or ck == 0x01:  # catch / catch_ref: tag label
                        tag, pos = read_uleb(data, pos)
                        label, pos = read_uleb(data, pos)
                        catches.append((ck, tag, label))
                    elif ck == 0x02 or ck == 0x03:  # catch_all / catch_all_ref: label
                        label, pos = read_uleb(data, pos)
                        catches.append((ck, None, label))
                    else:
                        raise InstrumentError(pos - 1, f"invalid catch clause kind 0x{ck:02x}")
                imm = (bt, tuple(catches))
                depth += 1
            elif kind == BR_ON_CAST:
                flags = data[pos]
                label, pos = read_uleb(data, pos + 1)
                ht1 = pos
                pos = skip_heaptype(data, pos)
                ht2 = pos
                pos = skip_heaptype(data, pos)
                imm = (flags, label, ht1, ht2)
            elif kind == BYTE:
                imm = (data[pos],)
                pos += 1
            elif kind == RESUME:
                t, pos = read_uleb(data, pos)
                hs, pos = _handlers(data, pos)
                imm = (t, hs)
            elif kind == RESUME_THROW:
                t, pos = read_uleb(data, pos)
                tag, pos = read_uleb(data, pos)
                hs, pos = _handlers(data, pos)
                imm = (t, tag, hs)
            else:  # pragma: no cover - the tables only hold the kinds above
                raise AssertionError(kind)
            if pos > limit:
                raise InstrumentError(start, "instruction runs past the end of its body")
            append(Instr(op, start, pos, imm))
            if depth == 0:
                return out, pos
    except IndexError:
        raise InstrumentError(
            min(len(data), limit), f"unexpected end of data in instruction at {start}"
        ) from None
