"""A bounds-checked cursor over wasm bytes, and LEB128 encoders.

Every read either succeeds or raises `InstrumentError` with the offset where
the data ran out or went wrong: the instrumenter must never produce output
from a misread input.
"""

from __future__ import annotations

from .errors import InstrumentError

__all__ = ["Reader", "encode_name", "encode_vec", "sleb", "uleb"]


class Reader:
    """Reads wasm primitives from `data[pos:end]`; `pos` is an absolute offset."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def at_end(self) -> bool:
        return self.pos >= self.end

    def fail(self, reason: str, offset: int | None = None) -> InstrumentError:
        return InstrumentError(self.pos if offset is None else offset, reason)

    def u8(self) -> int:
        if self.pos >= self.end:
            raise self.fail("unexpected end of data")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def peek(self) -> int:
        if self.pos >= self.end:
            raise self.fail("unexpected end of data")
        return self.data[self.pos]

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise self.fail(f"unexpected end of data (needed {n} bytes)")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > self.end:
            raise self.fail(f"unexpected end of data (needed {n} bytes)")
        self.pos += n

    def _uleb(self, max_bytes: int) -> int:
        start = self.pos
        result = 0
        shift = 0
        data, end = self.data, self.end
        pos = self.pos
        for _ in range(max_bytes):
            if pos >= end:
                raise InstrumentError(pos, "unexpected end of data in LEB128 integer")
            b = data[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                self.pos = pos
                return result
        raise InstrumentError(start, "LEB128 integer is too long")

    def _sleb(self, max_bytes: int) -> int:
        start = self.pos
        result = 0
        shift = 0
        data, end = self.data, self.end
        pos = self.pos
        for _ in range(max_bytes):
            if pos >= end:
                raise InstrumentError(pos, "unexpected end of data in LEB128 integer")
            b = data[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                self.pos = pos
                if b & 0x40:
                    result -= 1 << shift
                return result
        raise InstrumentError(start, "LEB128 integer is too long")

    def u32(self) -> int:
        pos = self.pos
        # Fast path: most indices and counts fit in one byte.
        if pos < self.end and self.data[pos] < 0x80:
            self.pos = pos + 1
            return self.data[pos]
        value = self._uleb(5)
        if value > 0xFFFF_FFFF:
            raise InstrumentError(pos, "u32 LEB128 integer out of range")
        return value

    def u64(self) -> int:
        return self._uleb(10)

    def s32(self) -> int:
        return self._sleb(5)

    def s33(self) -> int:
        return self._sleb(5)

    def s64(self) -> int:
        return self._sleb(10)

    def name(self) -> str:
        n = self.u32()
        start = self.pos
        raw = self.take(n)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InstrumentError(start, "name is not valid UTF-8") from None


def uleb(value: int) -> bytes:
    """Unsigned LEB128, shortest form."""
    if value < 0:
        raise ValueError(f"uleb of negative value {value}")
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def sleb(value: int) -> bytes:
    """Signed LEB128, shortest form."""
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if (value == 0 and not b & 0x40) or (value == -1 and b & 0x40):
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def encode_name(text: str) -> bytes:
    raw = text.encode("utf-8")
    return uleb(len(raw)) + raw


def encode_vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)
