"""Instruction sequences that passes insert, with symbolic function indices.

A pass cannot know final function indices while it runs: other passes may
still add imports, and every import added shifts the defined functions. So a
pass names functions with `FuncRef`s and builds `Snippet`s; the writer
resolves both in one place when it encodes the module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .reader import sleb, uleb

__all__ = ["FuncRef", "Snippet"]


@dataclass(frozen=True)
class FuncRef:
    """`added=True`: the `index`-th import added by the rewriter;
    otherwise function `index` of the original module."""

    index: int
    added: bool = False


def _signed(value: int, bits: int) -> int:
    # Accept unsigned values (a u32 memarg offset) and encode their
    # two's-complement reading, which is what the wasm const means.
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


class _Copied(bytes):
    """Bytes copied verbatim from the original module, and the offset they were copied from
    (so the writer's offset map sends a position inside them to the instruction they copy)."""

    origin: int


_Part = bytes | FuncRef


class Snippet:
    """A straight-line instruction sequence; chainable builder methods."""

    __slots__ = ("_copies", "_parts")

    def __init__(self) -> None:
        self._parts: list[_Part] = []
        self._copies = False

    def raw(self, code: bytes) -> Snippet:
        """Append already-encoded instructions (no function indices inside)."""
        self._parts.append(bytes(code))
        return self

    def i32_const(self, value: int) -> Snippet:
        return self.raw(b"\x41" + sleb(_signed(value, 32)))

    def i64_const(self, value: int) -> Snippet:
        return self.raw(b"\x42" + sleb(_signed(value, 64)))

    def local_get(self, index: int) -> Snippet:
        return self.raw(b"\x20" + uleb(index))

    def local_set(self, index: int) -> Snippet:
        return self.raw(b"\x21" + uleb(index))

    def local_tee(self, index: int) -> Snippet:
        return self.raw(b"\x22" + uleb(index))

    def drop(self) -> Snippet:
        return self.raw(b"\x1a")

    def call(self, func: FuncRef) -> Snippet:
        self._parts.append(b"\x10")
        self._parts.append(func)
        return self

    def copy_of(self, data: bytes, start: int, end: int) -> Snippet:
        """Append instructions copied from `data[start:end]` of the original module (no function
        indices inside); reports map a position inside the copy to the instruction it copies."""
        part = _Copied(data[start:end])
        part.origin = start
        self._parts.append(part)
        self._copies = True
        return self

    def extend(self, other: Snippet) -> Snippet:
        self._parts.extend(other._parts)
        self._copies = self._copies or other._copies
        return self

    def encode(self, resolve: Callable[[FuncRef], int]) -> bytes:
        return b"".join(p if isinstance(p, bytes) else uleb(resolve(p)) for p in self._parts)

    @property
    def has_copies(self) -> bool:
        return self._copies

    def encode_pieces(self, resolve: Callable[[FuncRef], int], stands_for: int) -> list[tuple[bytes, int]]:
        """The encoding in pieces, each with its origin as the offset map takes it: a copy's
        original offset, or `stands_for` (~offset of the instruction the snippet stands for)."""
        out: list[tuple[bytes, int]] = []
        own: list[bytes] = []
        for p in self._parts:
            if isinstance(p, _Copied):
                if own:
                    out.append((b"".join(own), stands_for))
                    own = []
                out.append((bytes(p), p.origin))
            else:
                own.append(p if isinstance(p, bytes) else uleb(resolve(p)))
        if own:
            out.append((b"".join(own), stands_for))
        return out

    def __len__(self) -> int:
        return len(self._parts)
