"""The atomics pass: waits/notifies become host calls; sched points before atomics.

A real `memory.atomic.wait32` parks the OS thread inside wasmtime, where
neither fuel nor epochs can reach it, so the deterministic scheduler could
never regain control. Replacing each wait/notify with a call to a host
function lets the runtime implement them as scheduler-visible waits. The
optional `sched_point` calls give the scheduler a place to switch threads
right before an atomic access, which is where interleavings matter, except
where the access provably touches the running function's own stack frame
(`stack_frame.py`): no other thread can see that memory, so a decision there
changes no outcome (musl spins with a compare-exchange on such a local).
"""

from __future__ import annotations

from .abi import HOST_MODULE, InstrumentLevel
from .decode import Instr
from .errors import InstrumentError
from .footprints import DESC_EMPTY, DESC_UNKNOWN, FootprintGlobals, OperandSaver, atomic_access, footprint_globals
from .module import MemoryInfo
from .opcodes import atomic_kind
from .progress import ProgressCounter
from .records import FrameLocalAtomic, Site
from .rewriter import ModuleRewriter
from .snippet import FuncRef, Snippet
from .stack_frame import FrameAnalysis, stack_pointer_global

__all__ = ["HOST_MODULE", "AtomicsPass", "FrameLocalAtomic", "InstrumentLevel", "Site"]


_SCHED_KINDS = {
    InstrumentLevel.WAITS: frozenset(),
    InstrumentLevel.ATOMICS: frozenset(("rmw", "cmpxchg")),
    InstrumentLevel.MEMORY: frozenset(("rmw", "cmpxchg", "load", "store")),
    InstrumentLevel.SHARED: frozenset(("rmw", "cmpxchg", "load", "store")),
}

# (params, results) of the host functions, per memory index type.
_SIGNATURES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "wait32": (("i32", "i32", "i64", "i32", "i32"), ("i32",)),
    "wait64": (("i32", "i64", "i64", "i32", "i32"), ("i32",)),
    "notify": (("i32", "i32", "i32", "i32"), ("i32",)),
    "wait32_m64": (("i64", "i32", "i64", "i64", "i32"), ("i32",)),
    "wait64_m64": (("i64", "i64", "i64", "i64", "i32"), ("i32",)),
    "notify_m64": (("i64", "i32", "i64", "i32"), ("i32",)),
    "sched_point": (("i32",), ()),
}


class AtomicsPass:
    def __init__(self, level: InstrumentLevel = InstrumentLevel.ATOMICS, *, footprints: bool = False) -> None:
        self.level = level
        # Step footprints (footprints.py, the dfs policy's loads at the shared level): each sched point
        # announces its atomic's address, and waits and notifies leave theirs for the runtime.
        self.footprints = footprints
        # Sites are numbered densely, in code order, over the instructions that
        # got a host call; a frame-local atomic gets no number. (The runtime
        # ignores the number; `Instrumented.sites` and the CLI list them.)
        self.sites: list[Site] = []
        self.frame_local: list[FrameLocalAtomic] = []

    def _host(self, rw: ModuleRewriter, name: str) -> FuncRef:
        params, results = _SIGNATURES[name]
        return rw.import_func(HOST_MODULE, name, params, results)

    def run(self, rw: ModuleRewriter, names: dict[int, str]) -> list[Site]:
        sched_kinds = _SCHED_KINDS[self.level]
        memories = rw.info.memories
        sp: int | None = None
        looked = False
        fp: FootprintGlobals | None = None
        for fb in rw.bodies():
            # Cheap pre-filter: an atomic instruction needs a 0xFE byte.
            if b"\xfe" not in rw.body_bytes(fb):
                continue
            if not looked and sched_kinds:
                looked = True
                sp = stack_pointer_global(rw.info)
            ed = rw.editor(fb.index)
            frame: FrameAnalysis | None = None  # built at the function's first sched candidate
            saver = OperandSaver(ed) if self.footprints else None
            counter: ProgressCounter | None = None
            if saver is not None and fp is None:
                fp = footprint_globals(rw)
            for i, ins in enumerate(ed.instrs):
                if ins.op >> 16 != 0xFE:
                    continue
                kind = atomic_kind(ins.op)
                if kind is None:
                    continue
                if kind in ("wait32", "wait64", "notify"):
                    _, memidx, offset = ins.imm
                    if memidx >= len(memories):
                        raise InstrumentError(ins.start, f"atomic uses undefined memory {memidx}")
                    m64 = memories[memidx].memory64
                    # The memarg offset is an immediate the host cannot see:
                    # pass it (and the memory) as extra arguments.
                    snip = Snippet()
                    if saver is not None and fp is not None:
                        snip.extend(_futex_footprint(fp, saver, kind, m64, offset))
                    if m64:
                        snip.i64_const(offset)
                    else:
                        snip.i32_const(offset)
                    snip.i32_const(memidx)
                    snip.call(self._host(rw, kind + "_m64" if m64 else kind))
                    ed.replace(i, snip)
                elif kind in sched_kinds:
                    if sp is not None:
                        if frame is None:
                            frame = FrameAnalysis(rw.info, ed.instrs, sp)
                        if frame.stack_local(i):
                            self.frame_local.append(
                                FrameLocalAtomic(kind, fb.index, names.get(fb.index), ins.start)
                            )
                            continue
                    snip = Snippet()
                    if saver is not None and fp is not None:
                        snip.extend(_announce_atomic(fp, saver, ins, memories))
                    snip.i32_const(len(self.sites)).call(self._host(rw, "sched_point"))
                    ed.insert_before(i, snip)
                    # Whether it changed memory: the runtime's progress (progress.py).
                    if counter is None:
                        counter = ProgressCounter(rw, ed)
                    counter.around(i, ins)
                else:
                    continue
                self.sites.append(
                    Site(len(self.sites), kind, fb.index, names.get(fb.index), ins.start)
                )
            rw.release(fb.index)
        return self.sites


# The operands of wait32, wait64 and notify above the address.
_FUTEX_OPERANDS = {"wait32": (b"\x7f", b"\x7e"), "wait64": (b"\x7e", b"\x7e"), "notify": (b"\x7f",)}


def _futex_footprint(fp: FootprintGlobals, saver: OperandSaver, kind: str, m64: bool, offset: int) -> Snippet:
    """Before a wait or notify: it is part of the step under way (no sched point before it), so it
    goes to the step's extra operations; and when the thread resumes after it, what follows up to
    the next point is its own code (PEND := empty)."""
    snip = Snippet()
    if kind == "wait64":
        snip.extend(fp.unknown_op())  # an 8-byte word: rare enough to leave unknown
    else:
        save, addr = saver.save(m64, _FUTEX_OPERANDS[kind])
        snip.extend(save).extend(fp.futex_op(addr, m64, offset, kind == "notify"))
    return snip.extend(fp.announce_const(DESC_EMPTY))


def _announce_atomic(fp: FootprintGlobals, saver: OperandSaver, ins: Instr, memories: list[MemoryInfo]) -> Snippet:
    """Before an atomic's sched point: PEND := the atomic's access."""
    access = atomic_access(ins)
    memidx = int(ins.imm[1])
    if access is None or memidx >= len(memories):
        return fp.announce_const(DESC_UNKNOWN)
    width, write, above = access
    m64 = memories[memidx].memory64
    save, addr = saver.save(m64, above)
    return save.extend(fp.announce(addr, m64, int(ins.imm[2]), width, write))
