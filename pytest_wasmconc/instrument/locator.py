"""Every position a report prints, in the user's terms: `func (@0xORIG) file.c:LINE`.

One place turns a position into text, so a trap's backtrace, a deadlock's
thread states, a lock-order cycle, a race and a printed interleaving all
show the same offset for the same instruction, the one `wasm-objdump -d`
shows in the file the user built:

- offsets wasmtime reports are offsets into the REWRITTEN module; the
  instrumenter's map (offsets.py) takes them back to the original;
- offsets the load-time passes recorded (sites) are offsets into the
  rewriter's input, which differs from the file only by the constant shift
  of a defined memory moved into the import section (memory_import.py);
- the source line comes from the original file's DWARF `.debug_line`
  (lines.py), read on first use: most executions never print a position.
"""

from __future__ import annotations

import bisect
import threading

from .errors import InstrumentError
from .lines import LineTable, line_table
from .module import parse_module
from .names import function_names_of
from .offsets import OffsetMap

__all__ = ["Locator", "located"]


def located(func: str | None, func_index: int | None, offset: int, source: str | None = None) -> str:
    """`func (@0x1f3) file.c:12`: one position as reports print it."""
    name = func or (f"<func {func_index}>" if func_index is not None else "<unknown function>")
    text = f"{name} (@{offset:#x})"
    return f"{text} {source}" if source else text


class _Original:
    """What positions need of the user's file: its line table, its functions' extents and names."""

    def __init__(self, data: bytes) -> None:
        self.lines: LineTable | None = None
        self.starts: list[int] = []  # each defined function's body start, ascending
        self.code_starts: list[int] = []  # and its first instruction
        self.indices: list[int] = []
        self.names: dict[int, str] = {}
        if not data:
            return
        try:
            info = parse_module(data)
        except InstrumentError:
            return
        self.lines = line_table(info)
        self.starts = [fb.start for fb in info.bodies]
        self.code_starts = [fb.code_start for fb in info.bodies]
        self.indices = [fb.index for fb in info.bodies]
        self.names = function_names_of(info)

    def function_at(self, offset: int) -> int | None:
        i = bisect.bisect_right(self.starts, offset) - 1
        return self.indices[i] if i >= 0 else None

    def instruction_at(self, offset: int) -> int:
        """`offset`, or the function's first instruction when it falls in the body's header (size and
        locals): wasmtime gives code before the first instruction (a prologue, a check at entry, a
        body that is one `unreachable`) the header's offset, which `wasm-objdump -d` shows no instruction at."""
        i = bisect.bisect_right(self.starts, offset) - 1
        if i >= 0 and offset < self.code_starts[i]:
            return self.code_starts[i]
        return offset


class Locator:
    """Positions of one program: rewritten or pass-recorded offsets -> the original file's, with lines."""

    def __init__(self, offsets: OffsetMap, original: bytes = b"", input_shift: int = 0) -> None:
        self.offsets = offsets
        self.input_shift = input_shift
        self._data = original
        self._original: _Original | None = None
        self._lock = threading.Lock()

    # -- offsets ------------------------------------------------------------------------------------

    def original_offset(self, offset: int) -> int:
        """The offset in the user's file of byte `offset` of the module wasmtime runs (the rewritten one):
        the instruction `wasm-objdump -d` of that file shows there."""
        return self.original.instruction_at(self.offsets.original(offset))

    def input_offset(self, offset: int) -> int:
        """The offset in the user's file of an instruction a load-time pass recorded (a site's offset)."""
        return offset + self.input_shift

    def original_func(self, index: int) -> int | None:
        """The user's index of function `index` of the rewritten module (None: a function the rewriter added)."""
        return self.offsets.original_func(index)

    # -- the user's file, read on first use -------------------------------------------------------------

    @property
    def original(self) -> _Original:
        if self._original is None:
            with self._lock:
                if self._original is None:
                    self._original = _Original(self._data)
        return self._original

    @property
    def lines(self) -> LineTable | None:
        """The original file's line table (None without DWARF)."""
        return self.original.lines

    def source(self, original_offset: int) -> str | None:
        """`file.c:12` of the instruction at `original_offset` of the user's file, if its DWARF says."""
        table = self.original.lines
        return table.lookup(original_offset) if table is not None else None

    # -- text ---------------------------------------------------------------------------------------

    def frame(self, func: str | None, func_index: int, offset: int) -> str:
        """A wasm frame wasmtime reported (index and offset of the rewritten module), as reports print it."""
        at = self.original_offset(offset)
        return located(func, self.original_func(func_index), at, self.source(at))

    def site(self, func: str | None, func_index: int, offset: int) -> str:
        """A position a load-time pass recorded (original function index, rewriter-input offset)."""
        at = self.input_offset(offset)
        return located(func, func_index, at, self.source(at))

    def position(self, offset: int) -> str:
        """Any offset of the module wasmtime runs (a context switch, a stopped thread) as reports print
        it, the function found from the offset itself (its name from the file's name section)."""
        return self.original_position(self.original_offset(offset))

    def original_position(self, at: int) -> str:
        """`func (@0x..) file.c:12` of offset `at` of the user's file."""
        orig = self.original
        at = orig.instruction_at(at)
        index = orig.function_at(at)
        return located(orig.names.get(index) if index is not None else None, index, at, self.source(at))
