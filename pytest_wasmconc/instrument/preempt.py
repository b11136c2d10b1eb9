"""Deterministic preemption by an instruction counter the instrumenter places.

Wasmtime's fuel meters every basic block and costs 1.2-1.7x on call-heavy
code and 3-4x on f64 loops (measured on wasmtime 50). Most of the f64 cost is not
the counting: any check whose slow path calls out of wasm makes Cranelift
keep loop-carried floats in stack slots for the whole loop, because no float
register survives a call. This pass counts and checks at the places that
bound execution (every loop header and every function entry: the points
where Wasmtime's fuel checks too), and on the rarely taken slow path it
moves the function's numeric locals through globals around the call, so no
local's value is live across it and the hot loop keeps its registers.

At each check point the per-thread counter (a mutable i64 global, one per
instance, so one per guest thread) drops by the number of instructions of
the region that follows (the loop body or function body without nested
loops: about what fuel would charge). When it goes negative the guest calls
`wasmconc.preempt()`, which ends the quantum; the host refills the counter
through the exported global before the thread runs again. The counts are a
pure function of the program and its inputs, so a schedule replays exactly.

In a function with loop checks the counter lives in a local between the
entry check (which reads the global) and the points where anything else can
see or change it: before calls, returns, throws, branches out of the
function and code earlier passes inserted (the atomics pass's host calls)
the local is written to the global, and after calls and such code it is read
back. A loop then carries its count in a register. (Through the global, each
iteration's load waited on the previous iteration's store: a tight f64 loop
ran at half speed whenever the CPU did not forward that store fast.) The
host sees an exact counter, since it runs only inside calls. A path the
spills miss (an exception unwinding through) only changes how much the
quantum is charged, never determinism: every count stays a function of the
execution.

At the `shared` level each visible access is a check of its own (charging the
access cost global); a straight-line run of them is first checked as a whole
(`access_runs.py`): when the counter covers the run, it is charged once and an
unchecked copy runs, with the same counts and quantum ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from .abi import ACCESS_COST_EXPORT, BUDGET_EXPORT, PREEMPT_IMPORT
from .access_runs import Run, runs
from .atomics import HOST_MODULE
from .body import BodyEditor
from .decode import Instr
from .footprints import (DESC_EMPTY, DESC_UNKNOWN, FootprintGlobals, OperandSaver, footprint_globals, memarg_offset,
                         plain_access)
from .module import FUNC, FuncBody, ModuleInfo
from .opcodes import BLOCK_START, CALL, DELEGATE, END, LOOP, REF_FUNC, RETURN_CALL
from .reader import sleb, uleb
from .rewriter import ModuleRewriter
from .sections import remap_elements, remap_globals, remap_tables
from .shared_accesses import SharedAccesses, memory_index
from .snippet import FuncRef, Snippet

__all__ = ["ACCESS_COST_EXPORT", "BUDGET_EXPORT", "PREEMPT_IMPORT", "PreemptCounterPass", "PreemptReport"]

# The site number of the scheduling points around host calls (the runtime ignores site numbers;
# the atomics pass numbers its own from 0).
HOST_CALL_SITE = -1

_I64 = b"\x7e"
# Value types whose locals are moved through globals around the preempt call,
# with the constant that initialises a scratch global of that type. Integers
# too: they are not spilled as badly as floats (some integer registers survive
# calls), but a loop with more live integers than those registers gains.
_SAVED_TYPES: dict[bytes, bytes] = {
    b"\x7f": b"\x41\x00",
    b"\x7e": b"\x42\x00",
    b"\x7d": b"\x43" + bytes(4),  # f32.const 0
    b"\x7c": b"\x44" + bytes(8),  # f64.const 0
    b"\x7b": b"\xfd\x0c" + bytes(16),  # v128.const 0
}
# Beyond this many locals of one type, the rest stay where Cranelift puts them
# (still correct, possibly slower); bounds the globals a huge function adds.
_MAX_SAVED_PER_TYPE = 64


@dataclass(frozen=True)
class PreemptReport:
    """What the pass placed (for tests and the `instrument` command)."""

    budget_global: int | None
    checks: int


class PreemptCounterPass:
    """A `LoadPass`: counter checks at every loop header and function entry."""

    def __init__(self, initial_budget: int, *, access_cost: int | None = None,
                 host_call_points: bool = False, hot_sites: frozenset[int] = frozenset(),
                 hot_cost: int = 0, footprints: bool = False) -> None:
        # The counter's value before the host first sets it: what a start
        # function (run during instantiation, before the host can reach the
        # instance's global) gets as its first quantum.
        self.initial_budget = initial_budget
        # The shared level (`shared_accesses.py`): each plain access to shared
        # memory is a check of its own charging this much, so a quantum can end
        # right before any of them. None: accesses are not checks.
        self.access_cost = access_cost
        # A scheduling point right before and right after every call of an imported
        # host function (WASI, user imports; not the runtime's own): what a host
        # function does is a visible operation, and host-side races need its order.
        self.host_call_points = host_call_points
        # Hot sites: the byte offsets (in the module as given) of visible accesses that charge
        # `hot_cost` instead of the access cost; a race check found them racy, so a policy
        # should preempt right before them far more often than anywhere else.
        self.hot_sites = hot_sites
        self.hot_cost = hot_cost
        # Step footprints (footprints.py; the dfs policy's loads at the shared level): each check's
        # slow path announces what follows it, and what a step may do beyond that is recorded.
        self.footprints = footprints

    def __call__(self, rw: ModuleRewriter, names: dict[int, str]) -> PreemptReport:
        plans = []
        for fb in rw.bodies():
            ed = rw.editor(fb.index)
            plans.append((fb, ed, _plan(ed, rw.info.num_imported_funcs)))
        if not plans:
            return PreemptReport(None, 0)
        preempt = rw.import_func(*PREEMPT_IMPORT, [], [])
        counter = rw.add_global(_I64, b"\x42" + sleb(self.initial_budget))
        rw.export_global(BUDGET_EXPORT, counter)
        scratch: dict[bytes, list[int]] = {t: [] for t in _SAVED_TYPES}
        checks = 0
        accesses = SharedAccesses(rw.info) if self.access_cost is not None else None
        cost_global = None
        if self.access_cost is not None:
            cost_global = rw.add_global(_I64, b"\x42" + sleb(self.access_cost))
            rw.export_global(ACCESS_COST_EXPORT, cost_global)
        targets = _host_call_targets(rw.info) if self.host_call_points else frozenset()
        sched_point = rw.import_func(HOST_MODULE, "sched_point", ["i32"], []) if targets else None
        fp = footprint_globals(rw) if self.footprints and accesses is not None else None
        indirect = fp is not None and _imports_reachable_indirectly(rw.info, [ed for _, ed, _ in plans])
        spawn = _spawn_index(rw.info)
        for fb, ed, (entry_cost, loops) in plans:
            saved = _saved_locals(ed, fb)
            for t, locs in saved.items():
                while len(scratch[t]) < len(locs):
                    scratch[t].append(rw.add_global(t, _SAVED_TYPES[t]))
            local = ed.add_local(_I64)
            # Functions without loop checks keep the counter in the global only
            # (one check per call: nothing to gain from a local).
            cached = bool(loops)
            slow = _slow_path(preempt, saved, scratch, counter, local, cached)
            # With footprints, what follows a check that fires at a loop header is the thread's own code
            # up to its next point; at a function entry the first instruction may be an atomic or a call
            # whose point the entry check follows (it is inserted there last): unknown.
            entry_slow = loop_slow = slow
            if fp is not None:
                entry_slow = Snippet().extend(fp.announce_const(DESC_UNKNOWN)).extend(slow)
                loop_slow = Snippet().extend(fp.announce_const(DESC_EMPTY)).extend(slow)
            if sched_point is not None:
                _points_around_host_calls(ed, targets, sched_point, fp)
            # Where earlier passes put code (a check's report in place of an access), the counter
            # is read back from the global after the instruction (_sync_around_other_code).
            earlier = ed.edited_positions() if cached else set()
            if cached:
                _sync_around_other_code(ed, counter, local)
            # Every position other code goes to so far (earlier passes, the spills): no run holds one.
            edited = ed.edited_positions()
            ed.insert_before(0, _check(counter, local, _const(entry_cost), entry_slow, entry=True, cached=cached))
            checks += 1
            for index, cost in loops:
                ed.insert_after(index, _check(counter, local, _const(cost), loop_slow, entry=False, cached=cached))
                checks += 1
            if accesses is not None and cost_global is not None:
                visible = list(accesses.visible(ed.instrs))
                found = runs(ed.instrs, visible, edited)
                scratch_local = ed.add_local(_I64) if found else -1
                for run in found:
                    hot_count = sum(ed.instrs[i].start in self.hot_sites for i in run.accesses)
                    _wrap_run(ed, run, counter, local, scratch_local, cost_global,
                              len(run.accesses) - hot_count, hot_count * self.hot_cost, cached)
                # Outside a cached function the counter lives in the global: read it there.
                charge = Snippet().raw(b"\x23" + uleb(cost_global))  # global.get: the host may zero it
                check = _check(counter, local, charge, slow, entry=not cached, cached=cached)
                hot = _check(counter, local, _const(self.hot_cost), slow, entry=not cached, cached=cached)
                keep = Snippet().local_get(local).raw(b"\x24" + uleb(counter))  # global.set
                saver = OperandSaver(ed) if fp is not None else None
                for index in visible:
                    is_hot = ed.instrs[index].start in self.hot_sites
                    if fp is not None and saver is not None:
                        save, announce = _announce_access(fp, saver, ed.instrs[index], rw.info)
                        ed.insert_before(index, save)
                        charge_here = _const(self.hot_cost) if is_hot else charge
                        ed.insert_before(index, _check(counter, local, charge_here, announce.extend(slow),
                                                       entry=not cached, cached=cached))
                    else:
                        ed.insert_before(index, hot if is_hot else check)
                    if index in earlier:
                        # That read-back would undo this access's charge: write it to the global
                        # first (else the race check's accesses charged nothing: 10x fewer switches).
                        ed.insert_before(index, keep)
                    checks += 1
            if fp is not None:
                _unknown_operations(ed, fp, rw.info.num_imported_funcs, spawn, indirect)
        return PreemptReport(counter, checks)


def _host_call_targets(info: ModuleInfo) -> frozenset[int]:
    """Function indexes of the imports that are host functions of the world (not the runtime's own,
    and not `wasi.thread-spawn`, which is a scheduling point of its own)."""
    out = set()
    index = 0
    for imp in info.imports:
        if imp.kind != FUNC:
            continue
        if not imp.module.startswith(HOST_MODULE) and imp.module != "wasi":
            out.add(index)
        index += 1
    return frozenset(out)


def _points_around_host_calls(ed: BodyEditor, targets: frozenset[int], sched_point: FuncRef,
                              fp: FootprintGlobals | None = None) -> None:
    point = Snippet().i32_const(HOST_CALL_SITE).call(sched_point)
    before = after = point
    if fp is not None:
        # The step after the point before is the host call (`_unknown_operations` marks it too); the one
        # after the point after is the thread's own code up to its next point.
        before = Snippet().extend(fp.announce_const(DESC_UNKNOWN)).extend(point)
        after = Snippet().extend(fp.announce_const(DESC_EMPTY)).extend(point)
    for i, ins in enumerate(ed.instrs):
        if ins.op == CALL and ins.imm[0] in targets:
            ed.insert_before(i, before)
            ed.insert_after(i, after)


# Indirect calls: call_indirect, return_call_indirect, call_ref, return_call_ref.
_INDIRECT_CALLS = frozenset((0x11, 0x13, 0x14, 0x15))
_MEMORY_GROW = 0x40


def _unknown_operations(ed: BodyEditor, fp: FootprintGlobals, num_imported_funcs: int, spawn: int,
                        indirect: bool) -> None:
    """Footprints: mark the operations of a step that touch what no footprint describes, right before
    each (after every other insertion there, so whatever point the step began at, the mark is in it).

    Calls of imports (host functions, `wasi.thread-spawn`, the runtime's other imports), indirect calls
    when a table or `ref.func` may hold an import (`indirect`), and `memory.grow`. A call may also end
    its step inside (a spawn yields after it, a host function may block): what follows when the thread
    resumes is announced here, its own code after a spawn, unknown after anything else."""
    for i, ins in enumerate(ed.instrs):
        op = ins.op
        if op in (CALL, RETURN_CALL) and ins.imm[0] < num_imported_funcs:
            after = DESC_EMPTY if ins.imm[0] == spawn else DESC_UNKNOWN
            ed.insert_before(i, Snippet().extend(fp.announce_const(after)).extend(fp.unknown_op()))
        elif op in _INDIRECT_CALLS and indirect:
            ed.insert_before(i, Snippet().extend(fp.announce_const(DESC_UNKNOWN)).extend(fp.unknown_op()))
        elif op == _MEMORY_GROW:
            ed.insert_before(i, fp.unknown_op())


def _spawn_index(info: ModuleInfo) -> int:
    """The function index of `wasi.thread-spawn` (-1 when it is not imported)."""
    index = 0
    for imp in info.imports:
        if imp.kind != FUNC:
            continue
        if (imp.module, imp.name) == ("wasi", "thread-spawn"):
            return index
        index += 1
    return -1


def _announce_access(fp: FootprintGlobals, saver: OperandSaver, ins: Instr, info: ModuleInfo) -> tuple[Snippet,
                                                                                                          Snippet]:
    """(what saves the visible access's address before its check, what its check's slow path announces)."""
    access = plain_access(ins)
    memidx = memory_index(ins)
    if access is None or memidx >= len(info.memories):
        return Snippet(), fp.announce_const(DESC_UNKNOWN)  # bulk memory, SIMD: unknown
    width, write, above = access
    m64 = info.memories[memidx].memory64
    save, addr = saver.save(m64, above)
    return save, fp.announce(addr, m64, memarg_offset(ins), width, write)


def _imports_reachable_indirectly(info: ModuleInfo, editors: list[BodyEditor]) -> bool:
    """Whether an imported function may be called indirectly: named in an element segment, a table's or
    a global's initializer, or a `ref.func` of the code."""
    n = info.num_imported_funcs
    if n == 0:
        return False
    found: list[int] = []

    def note(index: int) -> int:
        if index < n:
            found.append(index)
        return index

    for sid, scan in ((9, remap_elements), (6, remap_globals), (4, remap_tables)):
        sec = info.section(sid)
        if sec is not None:
            scan(info.data, sec.payload, sec.end, note)
    if found:
        return True
    return any(ins.op == REF_FUNC and ins.imm[0] < n for ed in editors for ins in ed.instrs)


# Instructions that may run other code, which reads or moves the counter:
# calls (their callees' checks, host functions) and stack switching (cont.new,
# cont.bind, suspend, resume, resume_throw, switch run other frames).
_RUNS_OTHER_CODE = frozenset((0x10, 0x11, 0x14, 0xE0, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5))
# Instructions that leave the function without reaching its final `end`:
# return, tail calls, throw, rethrow, throw_ref.
_LEAVES = frozenset((0x0F, 0x12, 0x13, 0x15, 0x08, 0x09, 0x0A))
_BR_ON_CAST_OPS = frozenset((0xFB << 16 | 0x18, 0xFB << 16 | 0x19))


def _branch_labels(ins: Instr) -> tuple[int, ...]:
    op = ins.op
    if op in (0x0C, 0x0D, 0xD5, 0xD6):  # br, br_if, br_on_null, br_on_non_null
        return (ins.imm[0],)
    if op == 0x0E:  # br_table
        labels, default = ins.imm
        return (*labels, default)
    if op in _BR_ON_CAST_OPS:
        return (ins.imm[1],)
    return ()


def _sync_around_other_code(ed: BodyEditor, counter: int, local: int) -> None:
    """Write the local counter to the global where other code may look, read it back after."""
    g = uleb(counter)
    spill = Snippet().local_get(local).raw(b"\x24" + g)  # global.set
    reload = Snippet().raw(b"\x23" + g).local_set(local)  # global.get
    for i in sorted(ed.edited_positions()):
        # Earlier passes' code (host calls) sits before, in place of or after
        # instruction i: spill ahead of all of it, read back after each part.
        ed.insert_first_before(i, spill)
        ed.insert_before(i, reload)
        ed.insert_after(i, reload)
    depths = ed.depths()
    last = len(ed.instrs) - 1
    for i, ins in enumerate(ed.instrs):
        op = ins.op
        if op in _RUNS_OTHER_CODE:
            ed.insert_before(i, spill)
            ed.insert_after(i, reload)
        elif op in _LEAVES or i == last or depths[i] - 1 in _branch_labels(ins):
            ed.insert_before(i, spill)


def _plan(ed: BodyEditor, num_imported_funcs: int) -> tuple[int, list[tuple[int, int]]]:
    """(entry cost, [(loop instruction index, body cost)]).

    Every function entry is a check, leaves included: a call is where a
    race window is most often split (the same preemption points Wasmtime's
    fuel has: function entries and loop headers). A loop whose every
    iteration calls a defined function before it can branch anywhere needs
    no check of its own: the callee's entry check bounds each iteration (a
    recursive function that clang turned half into a loop would otherwise
    pay two checks per call).
    """
    loops: list[tuple[int, int]] = []
    # One counting region per open loop, the function body at the bottom;
    # `kinds` mirrors the block stack so an `end` knows whether it closes a loop.
    costs = [0]
    loop_at: list[int] = [-1]
    kinds: list[bool] = []
    for i, ins in enumerate(ed.instrs):
        op = ins.op
        costs[-1] += 1
        if op in BLOCK_START:
            is_loop = op == LOOP
            kinds.append(is_loop)
            if is_loop:
                costs.append(0)
                loop_at.append(i)
        elif (op == END or op == DELEGATE) and kinds:
            closes_loop = kinds.pop()
            if closes_loop:
                at, cost = loop_at.pop(), max(1, costs.pop())
                if not _calls_before_branching(ed, at, num_imported_funcs):
                    loops.append((at, cost))
    loops.sort()
    return max(1, costs[0]), loops


# Instructions that may transfer control (or start a block that may), after
# which a loop body's later call is no longer certain to run.
_CONTROL_OPS = frozenset((
    0x00, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F,
    0x11, 0x12, 0x13, 0x14, 0x15, 0x18, 0x19, 0x1F, 0xD5, 0xD6,
))
_PLAIN_PREFIXES = (0xFC, 0xFD, 0xFE)  # misc (bulk memory, saturating), SIMD, atomics


def _calls_before_branching(ed: BodyEditor, loop_index: int, num_imported_funcs: int) -> bool:
    """Does the loop body start with straight-line code ending in a call of a defined function?"""
    for ins in ed.instrs[loop_index + 1 :]:
        op = ins.op
        if op == CALL:
            return bool(ins.imm[0] >= num_imported_funcs)  # imports have no entry check
        if op > 0xFF:
            if op >> 16 not in _PLAIN_PREFIXES:
                return False  # e.g. the GC proposal's br_on_cast
        elif op in _CONTROL_OPS:
            return False
    return False


def _saved_locals(ed: BodyEditor, fb: FuncBody) -> dict[bytes, list[int]]:
    out: dict[bytes, list[int]] = {t: [] for t in _SAVED_TYPES}
    index = 0
    params = ed.sig.params if ed.sig is not None else ()
    for t in params:
        if t in out and len(out[t]) < _MAX_SAVED_PER_TYPE:
            out[t].append(index)
        index += 1
    for count, t in fb.locals:
        if t in out:
            take = min(count, _MAX_SAVED_PER_TYPE - len(out[t]))
            out[t].extend(range(index, index + take))
        index += count
    return {t: locs for t, locs in out.items() if locs}


def _slow_path(preempt: FuncRef, saved: dict[bytes, list[int]], scratch: dict[bytes, list[int]],
               counter: int, local: int, cached: bool) -> Snippet:
    # Locals pass through globals so that no float/vector value is live across
    # the call (see the module docstring).
    pairs = [(loc, scratch[t][k]) for t, locs in saved.items() for k, loc in enumerate(locs)]
    snip = Snippet()
    if cached:
        snip.local_get(local).raw(b"\x24" + uleb(counter))  # the host reads what was used
    for loc, g in pairs:
        snip.local_get(loc).raw(b"\x24" + uleb(g))
    snip.call(preempt)
    for loc, g in pairs:
        snip.raw(b"\x23" + uleb(g)).local_set(loc)
    return snip.raw(b"\x23" + uleb(counter)).local_set(local)  # the host refilled the counter


def _wrap_run(ed: BodyEditor, run: Run, counter: int, local: int, scratch: int, cost_global: int, plain: int,
              hot_total: int, cached: bool) -> None:
    """`if` the counter covers the run's charges: take them at once and run an unchecked copy of
    the run; `else` the run with its per-access checks (access_runs.py says why that is exact)."""
    total = Snippet()
    if plain:
        total.raw(b"\x23" + uleb(cost_global))  # global.get: what an access charges now
        if plain > 1:
            total.i64_const(plain).raw(b"\x7e")  # i64.mul
    if hot_total:
        total.i64_const(hot_total)
        if plain:
            total.raw(b"\x7c")  # i64.add
    g = uleb(counter)
    head = Snippet().local_get(local) if cached else Snippet().raw(b"\x23" + g)
    head.extend(total).raw(b"\x7d").local_tee(scratch)  # i64.sub
    head.raw(b"\x42\x00\x59")  # i64.const 0; i64.ge_s
    head.raw(b"\x04\x40").local_get(scratch)  # if (no results)
    head.local_set(local) if cached else head.raw(b"\x24" + g)  # global.set
    first, last = ed.instrs[run.start], ed.instrs[run.end - 1]
    head.copy_of(ed.data, first.start, last.end)  # the run, unchecked: no index in it shifts
    head.raw(b"\x05")  # else
    ed.insert_before(run.start, head)
    ed.insert_after(run.end - 1, Snippet().raw(b"\x0b"))  # end


def _const(cost: int) -> Snippet:
    return Snippet().i64_const(cost)


def _check(counter: int, local: int, charge: Snippet, slow: Snippet, *, entry: bool, cached: bool) -> Snippet:
    """Subtract what `charge` pushes (an i64); below zero, take the slow path.
    `cached`: the function keeps the counter in `local`."""
    g = uleb(counter)
    snip = Snippet().raw(b"\x23" + g) if entry else Snippet().local_get(local)  # global.get / local.get
    snip.extend(charge).raw(b"\x7d")  # i64.sub
    if cached:
        snip.local_tee(local)
    else:
        snip.local_tee(local).raw(b"\x24" + g).local_get(local)  # global.set counter
    return (
        snip.raw(b"\x42\x00\x53")  # i64.const 0; i64.lt_s
        .raw(b"\x04\x40")  # if (no results)
        .extend(slow)
        .raw(b"\x0b")  # end
    )
