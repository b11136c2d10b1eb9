"""One function body as passes see it: decoded instructions plus edits.

Passes never splice bytes themselves. They attach `Snippet`s before, after,
or in place of instructions (by position in `instrs`), and may add locals;
the writer applies all edits at once, copying untouched byte ranges verbatim
and re-encoding only the function indices that shift.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable

from .decode import Instr, decode_expr
from .errors import InstrumentError
from .module import FuncBody, FuncSig, ModuleInfo
from .offsets import OffsetMapBuilder
from .opcodes import BLOCK_START, DELEGATE, END, FUNC_INDEX_OPS
from .reader import uleb
from .snippet import FuncRef, Snippet

__all__ = ["BodyEditor"]


class BodyEditor:
    """The decoded body of defined function `func_index` (original index)."""

    def __init__(self, info: ModuleInfo, body: FuncBody) -> None:
        self.data = info.data
        self.body = body
        self.func_index = body.index
        self.sig: FuncSig | None = info.func_sigs.get(info.func_types[body.index])
        instrs, end = decode_expr(info.data, body.code_start, body.end)
        if end != body.end:
            raise InstrumentError(end, "function body has bytes after its final `end`")
        self.instrs: list[Instr] = instrs
        self._before: dict[int, list[Snippet]] = {}
        self._after: dict[int, list[Snippet]] = {}
        self._replace: dict[int, Snippet] = {}
        self._new_locals: list[bytes] = []

    # -- what passes call -------------------------------------------------

    def insert_before(self, i: int, snippet: Snippet) -> None:
        """Run `snippet` just before instruction `i` (after earlier inserts there)."""
        self._before.setdefault(i, []).append(snippet)

    def insert_first_before(self, i: int, snippet: Snippet) -> None:
        """Run `snippet` just before instruction `i`, ahead of what earlier inserts put there."""
        self._before.setdefault(i, []).insert(0, snippet)

    def insert_after(self, i: int, snippet: Snippet) -> None:
        """Run `snippet` just after instruction `i` (e.g. at a loop header)."""
        self._after.setdefault(i, []).append(snippet)

    def replace(self, i: int, snippet: Snippet) -> None:
        if i in self._replace:
            raise ValueError(f"instruction {i} of function {self.func_index} is already replaced")
        self._replace[i] = snippet

    def add_local(self, valtype: bytes) -> int:
        """Declare a new local of raw value type `valtype`; returns its index."""
        nparams = len(self.sig.params) if self.sig is not None else 0
        index = nparams + self.body.num_locals + len(self._new_locals)
        self._new_locals.append(bytes(valtype))
        return index

    def depths(self) -> list[int]:
        """Block nesting depth before each instruction (1 = function level).

        A `br N` at depth d leaves the function when N == d - 1, which is how
        an exit hook finds the branches that act as returns.
        """
        out = []
        depth = 1
        for ins in self.instrs:
            op = ins.op
            if op == END or op == DELEGATE:
                out.append(depth)
                depth -= 1
                continue
            out.append(depth)
            if op in BLOCK_START:
                depth += 1
        return out

    def edited_positions(self) -> set[int]:
        """Instructions that earlier passes put code before, after or in place of."""
        return set(self._before) | set(self._after) | set(self._replace)

    @property
    def edited(self) -> bool:
        return bool(self._before or self._after or self._replace or self._new_locals)

    # -- what the writer calls ------------------------------------------

    def encode(
        self, remap: Callable[[int], int], resolve: Callable[[FuncRef], int],
        marks: OffsetMapBuilder | None = None, at: int = 0,
    ) -> bytes | None:
        """The new size-prefixed body, or None when it would be byte-identical.

        `marks`: where each piece of the new body comes from is recorded there
        (instrument/offsets.py), the body being written at output position `at`.
        """
        data = self.data
        body = self.body
        touched: set[int] = set(self._before) | set(self._after) | set(self._replace)
        for i, ins in enumerate(self.instrs):
            if ins.op in FUNC_INDEX_OPS and remap(ins.imm[0]) != ins.imm[0]:
                touched.add(i)
        if not touched and not self._new_locals:
            return None
        # Per piece, where it comes from: the original offset it is copied from, or ~offset of the
        # instruction it stands for (inserted code, a replacement, a re-encoded call).
        origins: list[int] = []
        if self._new_locals:
            groups = [uleb(n) + vt for n, vt in body.locals]
            groups += [b"\x01" + vt for vt in self._new_locals]
            pieces = [uleb(len(groups)), *groups]
            origins += [~body.code_start] * len(pieces)
        else:
            pieces = [data[body.locals_start : body.code_start]]
            origins.append(body.locals_start)
        last = body.code_start
        for i in sorted(touched):
            ins = self.instrs[i]
            start = ins.start
            pieces.append(data[last:start])
            origins.append(last)
            for snip in self._before.get(i, ()):
                if snip.has_copies:  # original code copied into it: those bytes map to themselves
                    for piece, origin in snip.encode_pieces(resolve, ~start):
                        pieces.append(piece)
                        origins.append(origin)
                    continue
                pieces.append(snip.encode(resolve))
                origins.append(~start)
            if i in self._replace:
                snip = self._replace[i]
                if snip.has_copies:
                    for piece, origin in snip.encode_pieces(resolve, ~start):
                        pieces.append(piece)
                        origins.append(origin)
                else:
                    pieces.append(snip.encode(resolve))
                    origins.append(~start)
            elif ins.op in FUNC_INDEX_OPS:
                pieces.append(bytes((ins.op,)) + uleb(remap(ins.imm[0])))
                origins.append(~start)
            else:
                pieces.append(data[start : ins.end])
                origins.append(start)
            for snip in self._after.get(i, ()):
                pieces.append(snip.encode(resolve))
                origins.append(~start)  # code after an instruction belongs to it (a hook after a call)
            last = ins.end
        pieces.append(data[last : body.end])
        origins.append(last)
        content = b"".join(pieces)
        prefix = uleb(len(content))
        if marks is not None:
            marks.stands_for(at, body.start)  # the size field
            marks.add_pieces(at + len(prefix), array("q", map(len, pieces)), origins)
        return prefix + content
