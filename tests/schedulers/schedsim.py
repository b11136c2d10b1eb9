"""A fake-thread simulator that drives a Policy the way the runtime does, without wasm.

A thread is a list of ops. `Work(n)` burns n fuel with no scheduling point
(only a quantum end can interrupt it); `Access` (a visible plain access at the
shared level) costs 1 fuel and is recorded, and a quantum can end right before
it; every other op costs 1 fuel and ends at a scheduling point: `Step` (an atomic op / sched_yield: YIELDED), `Spawn`
(SPAWNED), `Set` (a notify: wakes `Wait`ers, YIELDED), `Wait` (BLOCKED until
its flag is set, or falls through if it already is). `SpinUntil` busy-waits
for a flag, 1 fuel per check, with no scheduling point (a spin loop on a
plain load). `Load(var, reg)` and `Store(var, value)` are visible accesses to
shared variables (YIELDED after them; a thread's registers are its own).
Running off the end of the ops is EXITED. Thread ids are handed out in spawn
order from 0.

Every quantum's footprint (what the DFS's sleep sets compare) is in
`Trace.footprints`, one per pick: the (location, is_write) pairs of the
visible operation it ran; `Step` is unknown (None: dependent on everything),
`Set`/`Wait` touch their flag, `Spawn`, `Work` and an exit touch nothing
shared.

The loop mirrors the runtime's contract: `new_execution()`, `on_spawn(0)`,
then `pick(runnable sorted, current, reason)` and `slice_for(chosen)` for
every quantum; `current` is None at START and after an exit, and is in
`runnable` only when it may continue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pytest_wasmconc.schedulers import Policy, SwitchReason


@dataclass(frozen=True)
class Work:
    fuel: int


@dataclass(frozen=True)
class Step:
    label: str


@dataclass(frozen=True)
class Access:
    """A visible plain access (the shared level): no scheduling point of its own, but a quantum
    can end right before it (it costs 1 fuel); recorded in the trace's steps like a Step."""

    label: str


@dataclass(frozen=True)
class Spawn:
    program: tuple[Op, ...]


@dataclass(frozen=True)
class Set:
    flag: str


@dataclass(frozen=True)
class Wait:
    flag: str


@dataclass(frozen=True)
class SpinUntil:
    flag: str


@dataclass(frozen=True)
class Load:
    var: str
    reg: str


@dataclass(frozen=True)
class Store:
    var: str
    value: int | str  # a constant, or the name of a register


@dataclass(frozen=True)
class AddTo:
    """reg += amount (thread-local: no scheduling point)."""

    reg: str
    amount: int


Op = Work | Step | Access | Spawn | Set | Wait | SpinUntil | Load | Store | AddTo
Footprint = frozenset[tuple[object, bool]] | None


def program(*ops: Op) -> tuple[Op, ...]:
    return tuple(ops)


class Deadlock(Exception):
    pass


class TooManyPicks(Exception):
    pass


@dataclass
class Pick:
    runnable: tuple[int, ...]
    current: int | None
    reason: SwitchReason
    chosen: int


@dataclass
class Trace:
    picks: list[Pick] = field(default_factory=list)
    slices: list[int] = field(default_factory=list)
    # (thread, label) of every Step, in execution order.
    steps: list[tuple[int, str]] = field(default_factory=list)
    # The thread that burned each unit of fuel, in order.
    fuel: list[int] = field(default_factory=list)
    exit_order: list[int] = field(default_factory=list)
    # What each quantum touched (see the module docstring), one per pick.
    footprints: list[Footprint] = field(default_factory=list)
    # The shared variables at the end.
    shared: dict[str, int] = field(default_factory=dict)

    @property
    def decisions(self) -> list[int]:
        return [p.chosen for p in self.picks]

    def index(self, thread: int, label: str) -> int:
        return self.steps.index((thread, label))


@dataclass
class _Thread:
    ops: tuple[Op, ...]
    pc: int = 0
    work_left: int | None = None  # fuel left in the current Work op, once started
    waiting_on: str | None = None
    exited: bool = False
    regs: dict[str, int] = field(default_factory=dict)


def run(
    policy: Policy,
    main: Sequence[Op],
    *,
    max_picks: int = 100_000,
    blocked_current: bool = True,
) -> Trace:
    """Run one execution of `main` (thread 0) under `policy` and return its trace.

    With `blocked_current=False`, `current` is None whenever the last thread
    cannot continue (blocked as well as exited), as the serial runtime passes it.
    """
    trace = Trace()
    threads: dict[int, _Thread] = {0: _Thread(tuple(main))}
    flags: set[str] = set()
    shared: dict[str, int] = {}
    policy.new_execution()
    policy.on_spawn(0)
    reason = SwitchReason.START
    current: int | None = None
    while True:
        runnable = tuple(
            sorted(t for t, th in threads.items() if not th.exited and th.waiting_on is None)
        )
        if not runnable:
            blocked = sorted(t for t, th in threads.items() if not th.exited)
            if blocked:
                raise Deadlock(f"deadlock! blocked threads: {blocked}")
            trace.shared = dict(shared)
            return trace
        if len(trace.picks) >= max_picks:
            raise TooManyPicks(f"exceeded {max_picks} picks")
        if not blocked_current and current not in runnable:
            current = None
        chosen = policy.pick(runnable, current, reason)
        assert chosen in runnable, (chosen, runnable)
        trace.picks.append(Pick(runnable, current, reason, chosen))
        budget = policy.slice_for(chosen)
        assert isinstance(budget, int) and budget >= 1, budget
        trace.slices.append(budget)
        touched: list[Footprint] = [frozenset()]
        reason, current = _run_quantum(policy, threads, flags, shared, chosen, budget, trace, touched)
        trace.footprints.append(None if any(f is None for f in touched)
                                else frozenset().union(*(f for f in touched if f is not None)))


def _run_quantum(
    policy: Policy,
    threads: dict[int, _Thread],
    flags: set[str],
    shared: dict[str, int],
    tid: int,
    budget: int,
    trace: Trace,
    touched: list[Footprint],
) -> tuple[SwitchReason, int | None]:
    th = threads[tid]
    while True:
        if th.pc == len(th.ops):
            th.exited = True
            trace.exit_order.append(tid)
            return SwitchReason.EXITED, None
        if budget == 0:
            return SwitchReason.PREEMPTED, tid
        op = th.ops[th.pc]
        if isinstance(op, Work):
            if th.work_left is None:
                th.work_left = op.fuel
            burn = min(budget, th.work_left)
            budget -= burn
            th.work_left -= burn
            trace.fuel.extend([tid] * burn)
            if th.work_left == 0:
                th.pc += 1
                th.work_left = None
            continue
        if isinstance(op, AddTo):
            th.regs[op.reg] = th.regs.get(op.reg, 0) + op.amount
            th.pc += 1
            continue
        budget -= 1
        trace.fuel.append(tid)
        if isinstance(op, SpinUntil):
            if op.flag in flags:
                th.pc += 1
            continue
        if isinstance(op, Access):
            th.pc += 1
            touched.append(None)  # no footprint: dependent on everything
            trace.steps.append((tid, op.label))
            continue
        th.pc += 1
        if isinstance(op, Load):
            th.regs[op.reg] = shared.get(op.var, 0)
            touched.append(frozenset({(op.var, False)}))
            return SwitchReason.YIELDED, tid
        if isinstance(op, Store):
            shared[op.var] = op.value if isinstance(op.value, int) else th.regs.get(op.value, 0)
            touched.append(frozenset({(op.var, True)}))
            return SwitchReason.YIELDED, tid
        if isinstance(op, Step):
            touched.append(None)
            trace.steps.append((tid, op.label))
            return SwitchReason.YIELDED, tid
        if isinstance(op, Spawn):
            child = len(threads)
            threads[child] = _Thread(op.program)
            policy.on_spawn(child)
            return SwitchReason.SPAWNED, tid
        if isinstance(op, Set):
            touched.append(frozenset({(("flag", op.flag), True)}))
            flags.add(op.flag)
            for other in threads.values():
                if other.waiting_on == op.flag:
                    other.waiting_on = None
            return SwitchReason.YIELDED, tid
        if isinstance(op, Wait):
            touched.append(frozenset({(("flag", op.flag), False)}))
            if op.flag in flags:
                continue
            th.waiting_on = op.flag
            return SwitchReason.BLOCKED, tid
        raise AssertionError(op)
