"""Load-time rewriting of wasm guests for the deterministic scheduler.

`instrument()` rewrites every `memory.atomic.wait32/wait64/notify` into a
call to a host function of module "wasmconc" (a real wait would block the OS
thread where neither fuel nor epochs can interrupt it), and, depending on
the level, inserts `i32.const <site>; call sched_point` before atomic
accesses, except those that provably touch the running function's own stack
frame (`stack_frame.py`; listed in `Instrumented.frame_local`). Host functions (all return i32 except sched_point):

    wait32(addr: i32, expected: i32, timeout_ns: i64, offset: i32, memidx: i32)
    wait64(addr: i32, expected: i64, timeout_ns: i64, offset: i32, memidx: i32)
    notify(addr: i32, count: i32, offset: i32, memidx: i32)
    wait32_m64 / wait64_m64 / notify_m64: the same with i64 addr and offset
        (memory64 memories)
    sched_point(site: i32) -> ()
    preempt() -> ()    (the preemption counter pass, preempt.py: the quantum is over)

`offset` is the instruction's memarg offset (an unsigned value passed as the
two's-complement i32/i64), so the effective address is addr + offset. The
host must reproduce the instruction's traps (misaligned or out-of-bounds
effective address, and a wait on an unshared memory; `Instrumented.memories`
says which memories are shared) and results (0 ok/woken count, 1
not-equal, 2 timed-out).

Writing another pass (entry/exit hooks, loop counters, ...)::

    rw = ModuleRewriter(wasm)                      # parse once
    hook = rw.import_func("wasmconc", "lock_acquired", ["i32"], [])
    for fb in rw.bodies():                         # defined functions
        ed = rw.editor(fb.index)                   # decoded once, shared by passes
        ed.insert_before(0, Snippet().local_get(0).call(hook))
        ...                                        # ed.instrs, ed.depths(), ed.replace()
    wasm = rw.emit()                               # every index shifted here

Passes name functions with `FuncRef`s (original index, or an added import)
and never encode a function index themselves, so any number of passes can
add imports before the single, central remapping in `emit()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy_names import lazy_names
from .abi import HOST_MODULE, SCHEDULE_VERSION

if TYPE_CHECKING:  # pragma: no cover - what the lazy names are, for type checkers
    from .abi import InstrumentLevel
    from .records import FrameLocalAtomic, Site
    from .body import BodyEditor
    from .errors import InstrumentError
    from .module import MemoryInfo
    from .names import function_names
    from .offsets import OffsetMap
    from .pipeline import Instrumented, LoadPass, instrument
    from .rewriter import ModuleRewriter
    from .snippet import FuncRef, Snippet

# Names load on first use: the runtime imports `instrument.abi` (and `offsets`) on every run, and
# a package import that loaded every pass would make each of them pay for the rewriter.
_HOMES = {
    "abi": ("InstrumentLevel",),
    "records": ("FrameLocalAtomic", "Site"),
    "body": ("BodyEditor",),
    "errors": ("InstrumentError",),
    "module": ("MemoryInfo",),
    "names": ("function_names",),
    "offsets": ("OffsetMap",),
    "pipeline": ("Instrumented", "LoadPass", "instrument"),
    "rewriter": ("ModuleRewriter",),
    "snippet": ("FuncRef", "Snippet"),
}

__all__ = [
    "HOST_MODULE",
    "SCHEDULE_VERSION",
    "BodyEditor",
    "FrameLocalAtomic",
    "FuncRef",
    "InstrumentError",
    "InstrumentLevel",
    "Instrumented",
    "LoadPass",
    "MemoryInfo",
    "ModuleRewriter",
    "OffsetMap",
    "Site",
    "Snippet",
    "function_names",
    "instrument",
]


__getattr__, __dir__ = lazy_names(__name__, _HOMES, eager=__all__)
