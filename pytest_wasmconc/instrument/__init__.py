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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .atomics import HOST_MODULE, AtomicsPass, FrameLocalAtomic, InstrumentLevel, Site
from .body import BodyEditor
from .errors import InstrumentError
from .module import MemoryInfo
from .names import function_names, function_names_of
from .offsets import OffsetMap
from .rewriter import ModuleRewriter
from .snippet import FuncRef, Snippet

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

# Where the scheduling points and preemption checks go. A seed names one
# schedule only for one placement, so replay tokens carry this number and
# refuse another: bump it whenever a pass adds, moves or removes a point or a
# counter check (1: no points before atomics on the function's own stack frame;
# 2: points around host calls, counter checks before shared accesses at the shared level).
SCHEDULE_VERSION = 2


@dataclass
class Instrumented:
    """The result of `instrument()`.

    `func_names` maps function indices of the *instrumented* module to their
    names (original names at shifted indices). `memories` says, per memory
    index, whether it is shared and/or 64-bit, which host wait/notify
    implementations need (a wait on an unshared memory must trap).
    """

    wasm: bytes
    sites: list[Site]
    imports_added: list[tuple[str, str]]
    changed: bool
    func_names: dict[int, str]
    memories: list[MemoryInfo] = field(default_factory=list)
    # What each extra pass returned, in the order the passes were given.
    pass_results: list[Any] = field(default_factory=list)
    # Atomics left without a sched point: they touch their function's own frame.
    frame_local: list[FrameLocalAtomic] = field(default_factory=list)
    # Offsets of `wasm` back to the input's (offsets.py): what reports print.
    offsets: OffsetMap = field(default_factory=OffsetMap)


# An extra pass run after the atomics pass on the same rewriter: (rewriter,
# function names by original index) -> whatever the pass reports.
LoadPass = Callable[[ModuleRewriter, dict[int, str]], Any]


def instrument(
    wasm: bytes,
    level: InstrumentLevel = InstrumentLevel.ATOMICS,
    passes: Sequence[LoadPass] = (),
    *,
    footprints: bool = False,
) -> Instrumented:
    """Rewrite a core wasm module; see the module docstring. `footprints`: the sched points announce
    what follows them (footprints.py: the dfs policy's loads at the shared level).

    Returns the input bytes unchanged (and `changed=False`) when there is
    nothing to rewrite. Raises `InstrumentError` for input that is not a
    decodable core module (a component, truncated or malformed bytes).
    """
    rw = ModuleRewriter(wasm)
    names = function_names_of(rw.info)
    atomics = AtomicsPass(level, footprints=footprints)
    sites = atomics.run(rw, names)
    results = [p(rw, names) for p in passes]
    memories = list(rw.info.memories)
    if not rw.changed:
        data = wasm if isinstance(wasm, bytes) else rw.data
        return Instrumented(data, [], [], False, names, memories, results, atomics.frame_local, rw.offsets)
    out = rw.emit()
    new_names = {rw.remap(i): n for i, n in names.items()}
    return Instrumented(
        out, sites, rw.imports_added, True, new_names, memories, results, atomics.frame_local, rw.offsets
    )
