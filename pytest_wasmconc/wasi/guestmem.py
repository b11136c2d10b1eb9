"""Reading and writing WASI argument shapes (iovecs, paths, strings) in guest memory.

All accessors go through the runtime's bounds-checked `GuestMemory`, so an
out-of-bounds pointer surfaces as `MemoryFault`, which is left to trap the
guest, as an out-of-bounds pointer does under wasmtime's own WASI.
"""

from __future__ import annotations

from ..runtime.hostapi import GuestMemory
from .errno import Errno, WasiError
from .layout import IOVEC

__all__ = ["Iovec", "first_nonempty", "gather", "read_iovecs", "read_path", "scatter", "total_len"]

Iovec = tuple[int, int]  # (buf pointer, buf_len)


def read_iovecs(mem: GuestMemory, ptr: int, count: int) -> list[Iovec]:
    """The (buf, len) pairs of an iovec/ciovec array."""
    if count == 0:
        return []
    raw = mem.read(ptr, IOVEC.size * count)
    return [IOVEC.unpack_from(raw, i * IOVEC.size) for i in range(count)]


def first_nonempty(iovs: list[Iovec]) -> list[Iovec]:
    """Only the first buffer with room, as wasmtime's preview1 moves data.

    wasmtime reads and writes through the first non-empty iovec only (a
    short count for the rest), and guests' libcs loop on short counts;
    doing the same keeps a guest's observable I/O identical to wasmtime.
    """
    for iov in iovs:
        if iov[1]:
            return [iov]
    return []


def total_len(iovs: list[Iovec]) -> int:
    return sum(length for _, length in iovs)


def gather(mem: GuestMemory, iovs: list[Iovec], limit: int | None = None) -> bytes:
    """Concatenate the ciovec buffers (at most `limit` bytes)."""
    parts: list[bytes] = []
    left = total_len(iovs) if limit is None else limit
    for buf, length in iovs:
        if left <= 0:
            break
        take = min(length, left)
        if take:
            parts.append(mem.read(buf, take))
        left -= take
    return b"".join(parts)


def scatter(mem: GuestMemory, iovs: list[Iovec], data: bytes) -> None:
    """Spread `data` over the iovec buffers in order."""
    offset = 0
    for buf, length in iovs:
        if offset >= len(data):
            break
        chunk = data[offset : offset + length]
        mem.write(buf, chunk)
        offset += len(chunk)


def read_path(mem: GuestMemory, ptr: int, length: int) -> str:
    """A guest path: UTF-8 (else EILSEQ) without NUL bytes (else EINVAL), as wasmtime checks."""
    raw = mem.read(ptr, length)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise WasiError(Errno.ILSEQ, "path is not UTF-8") from None
    if "\0" in text:
        raise WasiError(Errno.INVAL, "path contains NUL")
    return text
