"""Where a byte of the rewritten module came from: rewritten offsets back to the original's.

Wasmtime reports a frame's position as a byte offset into the module it
compiled, which is the REWRITTEN one; a user reads `wasm-objdump -d` of the
file they built, and its DWARF line table is relative to that file's code.
The writer records, while it re-emits the code section, a piecewise map from
rewritten to original offsets (both module-absolute):

- bytes copied from the original map one to one (a *linear* segment);
- inserted instrumentation, a replaced instruction and a re-encoded call map
  to the original instruction they stand for (a *constant* segment): code
  inserted before instruction i, or in its place, maps to i's offset; code
  inserted after i (the hook after a lock call, the counter check at a loop
  header) maps to i too, the instruction it belongs to;
- a body's size field maps to the original's, a locals vector that grew to
  the body's first instruction (the locator snaps any offset in a body's
  header to its first instruction: Wasmtime reports code before it there).

The writer only appends piece lengths and origins (its time is every load's);
they are merged into segments at the first lookup, kept compact as three
parallel arrays sorted by rewritten offset and searched with `bisect`.
"""

from __future__ import annotations

import bisect
from array import array

__all__ = ["OffsetMap", "OffsetMapBuilder"]


# A piece of the map as the writer records it: from output position `base` on, pieces of the given
# lengths, each copied from an original offset (>= 0) or standing for the instruction at ~value.
# Merging them into segments waits for the first lookup: most programs never print a position,
# and the writer's time is every load's.
_Part = tuple[int, "array[int]", "array[int]"]


class OffsetMap:
    """Rewritten module offsets -> original module offsets (the code section; elsewhere unchanged).

    An empty map is the identity (the module was not rewritten).
    `imported_funcs` / `added_imports`: the rewriter's function-index shift, to
    name a function of the original module by its index.
    """

    __slots__ = ("_delta", "_linear", "_new", "_orig", "_parts", "added_imports", "imported_funcs")

    def __init__(self, parts: list[_Part] | None = None, imported_funcs: int = 0, added_imports: int = 0,
                 delta: int = 0) -> None:
        self._parts = parts or []
        self._delta = delta
        self.imported_funcs = imported_funcs
        self.added_imports = added_imports
        self._new: array[int] | None = None
        self._orig: array[int] = array("q")
        self._linear: array[int] = array("b")

    @property
    def new(self) -> array[int]:
        """Segment starts in the rewritten module, ascending."""
        return self._segments()[0]

    @property
    def orig(self) -> array[int]:
        """What each segment's start maps to in the original."""
        return self._segments()[1]

    @property
    def linear(self) -> array[int]:
        """Per segment, 1: copied bytes (offset + distance); 0: code standing for one instruction."""
        return self._segments()[2]

    def original(self, offset: int) -> int:
        """The original offset of rewritten byte `offset` (the instruction it stands for)."""
        new, orig, linear = self._segments()
        i = bisect.bisect_right(new, offset) - 1
        if i < 0:
            return offset + self._delta if not new and self._delta else offset
        base = orig[i]
        return base + (offset - new[i]) if linear[i] else base

    def original_func(self, index: int) -> int | None:
        """The original index of rewritten function `index`; None for an import the rewriter added."""
        if index < self.imported_funcs:
            return index
        if index < self.imported_funcs + self.added_imports:
            return None
        return index - self.added_imports

    def shifted(self, delta: int) -> OffsetMap:
        """This map followed by a constant shift of the original side (a section moved before the code)."""
        if not delta:
            return self
        return OffsetMap(self._parts, self.imported_funcs, self.added_imports, self._delta + delta)

    def __len__(self) -> int:
        return len(self.new)

    def _segments(self) -> tuple[array[int], array[int], array[int]]:
        if self._new is None:
            new, orig, linear = _merge(self._parts, self._delta)
            self._orig, self._linear = orig, linear
            self._new = new  # last: another thread sees all three or builds them again
        return self._new, self._orig, self._linear


def _merge(parts: list[_Part], delta: int) -> tuple[array[int], array[int], array[int]]:
    """The segments of `parts`: empty pieces dropped, continuations merged."""
    new: list[int] = []
    orig: list[int] = []
    linear: list[int] = []
    for base, lengths, origins in parts:
        pos = base
        for length, origin in zip(lengths, origins):
            if length:
                lin = 1 if origin >= 0 else 0
                at = (origin if lin else ~origin) + delta
                if new and new[-1] == pos:  # a mark whose piece ended before it began
                    new.pop()
                    orig.pop()
                    linear.pop()
                if not (new and linear[-1] == lin
                        and (orig[-1] + (pos - new[-1]) == at if lin else orig[-1] == at)):
                    new.append(pos)
                    orig.append(at)
                    linear.append(lin)
                pos += length
    return array("q", new), array("q", orig), array("b", linear)


class OffsetMapBuilder:
    """Collects the map while the writer appends bytes (positions relative to one output base).

    `copy(pos, orig)` / `stands_for(pos, orig)`: the output from `pos` on is
    copied from `orig` on, or is code standing for the instruction at `orig`,
    up to the next mark; `add_pieces(base, lengths, origins)`: a whole body's
    pieces (see `_Part`). Positions must come in ascending order. `build(base)`
    moves them all by `base`, once the writer knows where the code section's
    payload lands.
    """

    _OPEN = array("q", (1 << 62,))  # a mark's piece runs until the next mark: longer than any module

    def __init__(self) -> None:
        self.parts: list[_Part] = []

    def copy(self, pos: int, orig: int) -> None:
        self.parts.append((pos, self._OPEN, array("q", (orig,))))

    def stands_for(self, pos: int, orig: int) -> None:
        self.parts.append((pos, self._OPEN, array("q", (~orig,))))

    def add_pieces(self, base: int, lengths: array[int], origins: list[int]) -> None:
        # Kept as machine integers: a program keeps its map for as long as it is loaded.
        self.parts.append((base, lengths, array("q", origins)))

    def build(self, base: int, imported_funcs: int, added_imports: int) -> OffsetMap:
        parts = [(b + base, lengths, origins) for b, lengths, origins in self.parts] if base else self.parts
        return OffsetMap(parts, imported_funcs, added_imports)
