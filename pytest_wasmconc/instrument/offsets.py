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
- a function's rewritten locals header maps to the original body's start.

Kept compact, as three parallel arrays sorted by rewritten offset and
searched with `bisect`: a libc-sized guest at the shared level has a few
hundred thousand segments.
"""

from __future__ import annotations

import bisect
from array import array
from dataclasses import dataclass, field

__all__ = ["OffsetMap", "OffsetMapBuilder"]


def _q() -> array[int]:
    return array("q")


def _b() -> array[int]:
    return array("b")


@dataclass(frozen=True)
class OffsetMap:
    """Rewritten module offsets -> original module offsets (the code section; elsewhere unchanged).

    An empty map is the identity (the module was not rewritten).
    `added_imports` / `imported_funcs`: the rewriter's function-index shift, to
    name a function of the original module by its index.
    """

    new: array[int] = field(default_factory=_q)  # segment starts in the rewritten module
    orig: array[int] = field(default_factory=_q)  # what each start maps to in the original
    linear: array[int] = field(default_factory=_b)  # 1: copied bytes (offset + delta); 0: one instruction
    imported_funcs: int = 0
    added_imports: int = 0

    def original(self, offset: int) -> int:
        """The original offset of rewritten byte `offset` (the instruction it stands for)."""
        i = bisect.bisect_right(self.new, offset) - 1
        if i < 0:
            return offset
        base = self.orig[i]
        return base + (offset - self.new[i]) if self.linear[i] else base

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
        if not len(self.new):
            # The identity, then the shift: one linear segment from the module's start.
            return OffsetMap(array("q", [0]), array("q", [delta]), array("b", [1]),
                             self.imported_funcs, self.added_imports)
        return OffsetMap(self.new, array("q", (o + delta for o in self.orig)), self.linear,
                         self.imported_funcs, self.added_imports)

    def __len__(self) -> int:
        return len(self.new)


class OffsetMapBuilder:
    """Collects segments while the writer appends bytes (positions relative to one output base).

    `copy(pos, orig)` / `stands_for(pos, orig)` say that the output from `pos`
    on is copied from `orig` on, or is code standing for the instruction at
    `orig`; `rebase` turns the relative positions into module-absolute ones
    once the writer knows where the code section's payload lands.
    """

    def __init__(self) -> None:
        self.new: array[int] = array("q")
        self.orig: array[int] = array("q")
        self.linear: array[int] = array("b")

    def copy(self, pos: int, orig: int) -> None:
        self._add(pos, orig, 1)

    def stands_for(self, pos: int, orig: int) -> None:
        self._add(pos, orig, 0)

    def _add(self, pos: int, orig: int, linear: int) -> None:
        new = self.new
        if new:
            last = len(new) - 1
            if new[last] == pos:  # nothing was written under the previous segment
                self.orig[last], self.linear[last] = orig, linear
                self._merge_last()
                return
            if self.linear[last] == linear:
                if not linear and self.orig[last] == orig:
                    return  # more code standing for the same instruction
                if linear and self.orig[last] + (pos - new[last]) == orig:
                    return  # the copy simply goes on
        new.append(pos)
        self.orig.append(orig)
        self.linear.append(linear)

    def _merge_last(self) -> None:
        """Drop the last segment if it merely continues the one before it."""
        n = len(self.new)
        if n < 2:
            return
        a, b = n - 2, n - 1
        if self.linear[a] != self.linear[b]:
            return
        if self.linear[a]:
            same = self.orig[a] + (self.new[b] - self.new[a]) == self.orig[b]
        else:
            same = self.orig[a] == self.orig[b]
        if same:
            del self.new[b], self.orig[b], self.linear[b]

    def build(self, base: int, imported_funcs: int, added_imports: int) -> OffsetMap:
        """The map, with every position moved by `base` (the output offset the positions count from)."""
        new = array("q", (p + base for p in self.new)) if base else self.new
        return OffsetMap(new, self.orig, self.linear, imported_funcs, added_imports)
