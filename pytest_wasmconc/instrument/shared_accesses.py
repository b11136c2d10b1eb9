"""Which plain memory accesses are visible operations at the `shared` level.

A plain load or store (and bulk memory, and SIMD loads and stores) to a
shared memory is where the order-violation, lost-update and check-then-act
bugs live: two threads' accesses to one location in a window with no call or
atomic in it. At the `shared` level each such access is a scheduling point:
the preemption counter (`preempt.py`) is checked right before it, so a
quantum can end between any two visible operations (a straight-line run of
them is checked once when the counter covers the whole run, `access_runs.py`:
no check of it could fire then). Accesses that provably
touch the running function's own stack frame (`stack_frame.py`) are not
visible: no other thread can reach that memory, so a decision there changes
no outcome. Accesses to a memory that is not shared are not visible either.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .abi import ACCESS_COST, HOT_ACCESS_COST
from .decode import Instr
from .module import ModuleInfo
from .opcodes import key
from .stack_frame import PLAIN_ACCESS_WIDTHS, FrameAnalysis, stack_pointer_global

__all__ = ["ACCESS_COST", "HOT_ACCESS_COST", "SharedAccesses", "is_plain_access", "memory_index"]


# Plain (non-atomic) memory instructions other than the loads and stores of
# PLAIN_ACCESS_WIDTHS: bulk memory and SIMD. Their memarg's memory index is imm[1].
_BULK = frozenset((key(0xFC, 0x08), key(0xFC, 0x0A), key(0xFC, 0x0B)))  # memory.init, memory.copy, memory.fill
_SIMD = frozenset(key(0xFD, s) for s in (*range(0x0C), *range(0x54, 0x5E)))


def is_plain_access(op: int) -> bool:
    return op in PLAIN_ACCESS_WIDTHS or op in _SIMD or op in _BULK


def memory_index(ins: Instr) -> int:
    """The memory a plain access, bulk memory or SIMD memory instruction uses."""
    if ins.op == key(0xFC, 0x08):  # memory.init: (data index, memory index)
        return int(ins.imm[1])
    if ins.op == key(0xFC, 0x0A):  # memory.copy: (destination memory, source memory)
        return int(max(ins.imm[0], ins.imm[1]))  # shared if either is (wasi-threads guests have one memory)
    if ins.op == key(0xFC, 0x0B):  # memory.fill: (memory index,)
        return int(ins.imm[0])
    return int(ins.imm[1])  # memarg: (align, memory index, offset[, lane])


class SharedAccesses:
    """Finds the visible plain accesses of function bodies of one module."""

    def __init__(self, info: ModuleInfo) -> None:
        self._shared = [m.shared for m in info.memories]
        self._info = info
        self._sp = stack_pointer_global(info) if any(self._shared) else None

    def visible(self, instrs: Sequence[Instr]) -> Iterator[int]:
        """Indexes of the instructions in `instrs` that are visible operations."""
        if not any(self._shared):
            return
        frame: FrameAnalysis | None = None  # built at the body's first candidate
        for i, ins in enumerate(instrs):
            if not is_plain_access(ins.op):
                continue
            memidx = memory_index(ins)
            if memidx >= len(self._shared) or not self._shared[memidx]:
                continue
            if self._sp is not None and ins.op in PLAIN_ACCESS_WIDTHS:
                if frame is None:
                    frame = FrameAnalysis(self._info, instrs, self._sp)
                if frame.stack_local(i):
                    continue
            yield i
