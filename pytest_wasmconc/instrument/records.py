"""What instrumentation tells about the program it rewrote (its sites): kept with the program.

A program the compile cache saved (runtime/loading/saved.py) carries these
records; reading it back must not load the rewriting passes, so they live here,
apart from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["FrameLocalAtomic", "ResetGlobal", "RestartReport", "Site", "VirtualMemoryReport"]


@dataclass
class Site:
    """One instrumented instruction.

    `index` is the number passed to `sched_point` (sites are numbered in
    code order, waits and notifies included; frame-local atomics, which get
    no host call, are not sites); `func_index` is the function's
    index in the ORIGINAL module; `offset` is the byte offset of the atomic
    instruction's opcode in the original module file.
    """

    index: int
    kind: str
    func_index: int
    func_name: str | None
    offset: int


@dataclass
class FrameLocalAtomic:
    """An atomic access left without a sched point: it provably touches its
    function's own stack frame (`stack_frame.py`). Fields as in `Site`."""

    kind: str
    func_index: int
    func_name: str | None
    offset: int


@dataclass(frozen=True)
class ResetGlobal:
    """A mutable global the reset writes back: its export name, value type ('i32', ...) and value."""

    export: str
    kind: str
    value: int | float


@dataclass
class RestartReport:
    """What the pass found: whether instances can be reset, and what the reset writes."""

    reason: str | None = None  # why an instance cannot be reset exactly (None: it can)
    has_start: bool = False
    globals: list[ResetGlobal] = field(default_factory=list)

    @property
    def restartable(self) -> bool:
        return self.reason is None


@dataclass
class VirtualMemoryReport:
    """What the virtual memory pass (instrument/vmem.py) did: None `reason` when the shared memory's size
    the guest sees is the runtime's virtual one; else why the pass left the module as it was."""

    reason: str | None = None
    # memory.size / memory.grow rewritten, bulk operations (memory.fill/copy/init) given a bounds check
    sizes: int = 0
    grows: int = 0
    bulk: int = 0

    @property
    def applied(self) -> bool:
        return self.reason is None
