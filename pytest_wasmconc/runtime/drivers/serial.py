"""The serial driver: every guest thread on this one OS thread, a policy picks who runs.

Fuel mode gives each quantum an exact amount of fuel, so the same policy
and seed give the same interleaving in any process. Epoch mode cuts quanta
by wall-clock ticks instead. Both treat host waits (futex, sleep, blocking
reads) and scheduling points (atomic RMWs, notify, spawn, sched_yield) as
decisions of the policy.
"""

from __future__ import annotations

import dataclasses
import time

from ...instrument.abi import ACCESS_COST
from ...schedulers.base import NativePlan, Pause, Policy, SwitchReason
from .. import lane
from ..lane import _lane
from ..wasmtime import interrupts
from ..machine.ends import TRACED_ENDS
from ..machine.execution import Execution
from ..outcome import Status
from ..report import hang_message
from ..settings import Preempt
from ..machine.threads import GuestThread, ThreadState
from .ticker import EpochTicker

__all__ = ["PAUSE_LIMIT", "run_serial"]

# Outcome.hang_limit of an execution a policy paused (schedulers.base.Pause).
PAUSE_LIMIT = "pause"

# While every thread waits on the outside world (stdin), how often to re-check
# the wall-clock backstop.
_EXTERNAL_WAIT_SLICE_S = 0.05
# A thread that runs alone gets this many slices in one quantum: nothing else
# can become runnable without a host call, and host calls that wake or spawn
# are scheduling points anyway, so preempting it often would only cost time.
# It still yields now and then so the step budget and the wall-clock
# backstop are checked; its quantum counts as the slices it replaced, and each
# scheduling point it passed as a quiet point (_lane_c/lane.h).
_SOLO_SLICES = _lane.SOLO_SLICES
# Epoch mode: counter units before the first look at the clock in a slice (the
# thread then sizes its refills by its own speed, see GuestThread.begin_quantum).
_EPOCH_CHECK = _lane.EPOCH_CHECK


def run_serial(ex: Execution, policy: Policy) -> None:
    """Drive `ex` to its end; afterwards `ex.end` says why it ended."""
    settings = ex.settings
    # Wasmtime epochs slice only components; core modules are sliced by the
    # instrumented counter in epoch mode too (instrument/preempt.py).
    epochs = ex.program.engine_settings.epochs
    ticker = EpochTicker.shared(ex.program.engine, settings.epoch_tick_ms) if epochs else None
    wall_deadline = time.monotonic() + settings.timeout if settings.timeout else None

    main = ex.new_thread(None)
    ex.start_main(main)
    ex.on_spawn = lambda t: policy.on_spawn(t.tid)
    policy.new_execution()
    # At the shared level a policy may run a thread with its plain accesses free (as at the
    # atomics level): the thread's instance's cost global is set when it starts (threads.py).
    ex.charges_accesses = getattr(policy, "charges_accesses", None)
    policy.on_spawn(0)
    # Fuel mode: quiet points (a lone thread's scheduling points, waits that return at once) count
    # toward the step budget (_lane_c/lane.h). Epoch mode counts time, and its points inside a
    # slice are not steps even with company.
    ex.native.count_points = settings.preempt is Preempt.FUEL

    progress = _Progress()
    try:
        if ticker is not None:
            ticker.acquire()
        with interrupts.interrupts_deferred():
            _drive(ex, policy, progress, wall_deadline)
    finally:
        # Stop and trace threads while the ticker still runs: in epoch mode a
        # thread spinning in wasm only reaches its deadline check on a tick.
        try:
            _finish(ex, progress.current)
        finally:
            if ticker is not None:
                ticker.release()


class _Progress:
    """The last thread that ran (its report says "running" after a hang)."""

    current: int | None = None


def _drive(ex: Execution, policy: Policy, progress: _Progress, wall_deadline: float | None) -> None:
    settings = ex.settings
    fuel = settings.preempt is Preempt.FUEL
    # Epoch mode on the counter: time slices of one tick; the thread reads the
    # clock when its counter runs out (the native preempt check, _lane_c/host.c).
    timed = not fuel and ex.program.engine_settings.counter
    tick_ns = int(settings.epoch_tick_ms * 1e6)
    max_steps = settings.max_steps
    threads = ex.threads
    native = ex.native
    recorder = ex.recorder  # a timeline's (runtime/timeline/): None unless one was asked for
    # Step mode (a policy that decides at every visible operation, schedulers/dfs.py): while a thread
    # has company, a visible plain access charges this much, so its quantum ends right before the next
    # one; alone, it charges as compiled (no decision to make, and no step per access).
    step_cost: int | None = getattr(policy, "step_access_cost", None) if fuel else None
    # What each chosen step touched, for a policy that wants it (dfs: its search's sleep sets).
    footprints = None
    if fuel and getattr(ex.program, "footprints", False):
        # A dfs load (instrument/footprints.py): its reader imports the instrumenter's footprint layout,
        # which no other run needs (tests/test_startup_imports.py).
        from .footprints import StepFootprints  # noqa: PLC0415

        footprints = StepFootprints.for_policy(ex, policy)
    lane, native_policy = _native_lane(ex, policy, wall_deadline, tick_ns, python_steps=step_cost is not None
                                       or footprints is not None)
    current: int | None = None
    reason = SwitchReason.START
    while ex.end is None:
        if lane is not None:
            # The common stretch (every live thread runnable) runs in C; it
            # hands back the step it cannot finish, or the next step to take.
            lane.steps = ex.steps
            lane.current = -1 if current is None else current
            lane.reason = _REASON_CODES[reason._value_]
            lane.picks = 0
            if native_policy:
                last = policy.native_last()  # type: ignore[attr-defined]
                lane.rr_last = -1 if last is None else last
            try:
                code = lane.run()
            except BaseException as exc:  # e.g. from a Python policy's pick: what the loop below would see
                ex.steps = lane.steps
                progress.current = None if lane.current < 0 else lane.current
                if not isinstance(exc, Pause):
                    raise
                ex.declare(Status.HANG, f"paused by the scheduling policy: {exc}", limit=PAUSE_LIMIT)
                break
            ex.steps = lane.steps
            current = progress.current = None if lane.current < 0 else lane.current
            if native_policy:
                policy.native_sync(lane.picks, None if lane.rr_last < 0 else lane.rr_last)  # type: ignore[attr-defined]
            if code == _lane.RUN_POST_POLL:
                t = threads[lane.last_tid]
                finished = t.settle_poll(bool(lane.last_finished))
                reason = _after_poll(ex, t, finished, bool(lane.last_solo), lane.last_began_ns, fuel, timed, tick_ns)
                continue
            reason = _REASONS[lane.reason]
            if ex.end is not None:
                break
        if wall_deadline is not None and time.monotonic() >= wall_deadline:
            # Checked first: threads sleeping in real time (epoch mode) must not outlast it.
            ex.declare(Status.HANG, hang_message("timeout", settings.timeout), limit="timeout")
            break
        runnable = _runnable(ex)
        if not runnable:
            if _idle(ex, wall_deadline):
                continue
            ex.declare(Status.DEADLOCK, "deadlock")
            break
        if max_steps is not None and ex.steps - native.idle_since >= max_steps:
            ex.declare(Status.HANG, hang_message("max-steps", max_steps), limit="max-steps")
            break
        ex.steps += 1
        solo = len(runnable) == 1 and ex.alone(threads[runnable[0]])
        if solo:
            # Deterministic without asking the policy: there is no choice.
            tid = runnable[0]
        else:
            try:
                tid = policy.pick(runnable, current if current in runnable else None, reason)
            except Pause as pause:
                ex.declare(Status.HANG, f"paused by the scheduling policy: {pause}", limit=PAUSE_LIMIT)
                break
        t = threads[tid]
        if t.state is ThreadState.NEW:
            t.start()
        began_ns = 0
        if fuel:
            if step_cost is not None:
                t.set_access_cost(ACCESS_COST if solo else step_cost)
            t.begin_quantum(settings.slice * _SOLO_SLICES if solo else policy.slice_for(tid))
        elif timed:
            began_ns = time.monotonic_ns()
            t.begin_quantum(_EPOCH_CHECK, began_ns + (tick_ns * _SOLO_SLICES if solo else tick_ns))
        native.spawned = 0  # (ex.spawned_in_step)
        native.begin_points(-1 if max_steps is None else max_steps - (ex.steps - native.idle_since), settings.slice)
        if recorder is None:
            finished = t.poll()
            if footprints is not None:
                footprints.step_ran(t, finished, solo)
            current = progress.current = tid
            reason = _after_poll(ex, t, finished, solo, began_ns, fuel, timed, tick_ns)
            continue
        recorder.quantum_begins(t)
        try:
            finished = t.poll()
        finally:
            recorder.quantum_polled()
        if footprints is not None:
            footprints.step_ran(t, finished, solo)
        current = progress.current = tid
        reason = _after_poll(ex, t, finished, solo, began_ns, fuel, timed, tick_ns)
        recorder.quantum_ends(tid, reason.value, ex.steps)


def _after_poll(ex: Execution, t: GuestThread, finished: bool, solo: bool, began_ns: int, fuel: bool, timed: bool,
                tick_ns: int) -> SwitchReason:
    """The rest of a step after its poll: time and steps accounted, progress noted, the reason for the next
    decision."""
    reason = _account_poll(ex, t, finished, solo, began_ns, fuel, timed, tick_ns)
    native = ex.native
    if native.progressed:  # the step budget counts steps since the last progress (as the lane does)
        native.progressed = 0
        native.idle_since = ex.steps
    return reason


def _account_poll(ex: Execution, t: GuestThread, finished: bool, solo: bool, began_ns: int, fuel: bool,
                  timed: bool, tick_ns: int) -> SwitchReason:
    if fuel:
        used = t.fuel_used()
        step_cost = t.access_cost
        if step_cost is not None and step_cost > ACCESS_COST and used >= step_cost:
            used -= step_cost - ACCESS_COST  # the one access that ended a step-mode quantum, at its usual cost
        ex.clock.advance(used)
        slice_ = ex.settings.slice
        if solo:
            replaced = used // slice_ - 1
            if replaced > 0:
                ex.steps += replaced  # the slices it replaced
        ex.steps += ex.native.point_steps(slice_)  # its quiet points (_lane_c/lane.h), as the lane does
    elif timed and solo:
        ex.steps += max(0, (time.monotonic_ns() - began_ns) // tick_ns - 1)  # the ticks it replaced
    if finished:
        ex.thread_finished(t)
        # Its store, instance and fiber stack go now, not at the end of the
        # run: a program that starts threads all its life (each takes memory
        # mappings, 65,530 per process) ran out after ~32,000 of them.
        t.close()
        return SwitchReason.EXITED
    kind = t.wait_kind  # (not `t.wait`: a native futex wait would be built, description and all, every step)
    if kind == 0:
        if not t.yielded_at_scheduling_point:
            return SwitchReason.PREEMPTED
    elif kind == 2:
        return SwitchReason.BLOCKED
    if ex.native.spawned:  # (ex.spawned_in_step)
        return SwitchReason.SPAWNED
    # kind 1: a Yield wait (a host function's scheduling point); 3: a GiveUp (sched_yield).
    return SwitchReason.GAVE_UP if kind == 3 else SwitchReason.YIELDED


# SwitchReason <-> the lane's reason codes (_lane_c/lane.h's R_* enum, in this order).
_REASONS = (SwitchReason.START, SwitchReason.PREEMPTED, SwitchReason.YIELDED, SwitchReason.BLOCKED,
            SwitchReason.SPAWNED, SwitchReason.EXITED, SwitchReason.GAVE_UP)
_REASON_CODES = {r.value: i for i, r in enumerate(_REASONS)}  # by value: an Enum's own hash is Python code
_NATIVE_POLICIES = {"rr": _lane.POLICY_RR, "random": _lane.POLICY_RANDOM, "pct": _lane.POLICY_PCT,
                    "python": _lane.POLICY_PYTHON}


def _native_lane(ex: Execution, policy: Policy, wall_deadline: float | None, tick_ns: int, *,
                 python_steps: bool) -> tuple[_lane.Lane | None, bool]:
    """The native step loop for this execution when its mode has one, and whether the policy is native
    too (its plan: NativePlan). Any other policy is called from the loop (pick, slice_for) as the Python
    loop calls it; `python_steps`: each step needs Python around its poll (dfs: access costs, footprints)."""
    if not lane.NATIVE or not ex.program.engine_settings.counter or ex.settings.preempt is Preempt.OS:
        return None, False
    if ex.recorder is not None or python_steps:  # a timeline sees the steps only in Python
        return None, False
    plan_of = getattr(policy, "native_plan", None)
    plan: NativePlan | None = plan_of() if plan_of is not None else None
    if plan is None:  # the loop asks the policy itself (its pick records its decisions)
        plan = NativePlan("python", 1, pick=policy.pick, slice_for=policy.slice_for)
    elif plan.pct is not None:  # the loop leaves PCT its change points (steps.c pct_pick)
        plan = dataclasses.replace(plan, pick=plan.pct.pick, slice_for=plan.pct.slice_for)
    settings = ex.settings
    return _lane.Lane(
        execution=ex.native,
        fuel=settings.preempt is Preempt.FUEL,
        slice=settings.slice,
        tick_ns=max(1, tick_ns),
        max_steps=-1 if settings.max_steps is None else settings.max_steps,
        wall_deadline_ns=-1 if wall_deadline is None else int(wall_deadline * 1e9),
        policy=_NATIVE_POLICIES[plan.kind],
        policy_slice=plan.slice,
        choice_bits=plan.choice_bits,
        slice_bits=plan.slice_bits,
        decisions=plan.decisions,
        slices=plan.slices,
        stay=plan.stay,
        clock=ex.clock,
        interrupted=interrupts.INTERRUPTED,
        pick=plan.pick,
        slice_for=plan.slice_for,
        reasons=_REASONS,
        pct=plan.pct,
    ), plan.kind != "python"


def _runnable(ex: Execution) -> list[int]:
    """The tids that may run now, in order: the active set (blocked and timed-parked
    threads are not in it) after the due deadlines were served."""
    now = ex.clock.now_ns()
    if ex.has_timers:
        ex.wake_due(now)
    threads = ex.threads
    out = []
    for tid in ex.native.active():
        t = threads[tid]
        st = t.state
        if st is _RUNNABLE or st is _NEW or st is _PARKED and ex.try_wake(t, now):
            out.append(tid)
    return out


_RUNNABLE, _NEW, _PARKED = ThreadState.RUNNABLE, ThreadState.NEW, ThreadState.PARKED


def _idle(ex: Execution, wall_deadline: float | None) -> bool:
    """No thread can run: jump the clock, or wait for the outside world. False = deadlock."""
    earliest = ex.earliest_deadline()
    if earliest is not None:
        if ex.deterministic:
            ex.clock.advance_to(earliest)  # virtual time: no real sleeping
        else:
            delay = (earliest - ex.clock.now_ns()) / 1e9
            if delay > 0:
                with ex.cond:
                    ex.cond.wait(min(delay, _remaining(wall_deadline)))
        return True
    if not ex.blocked_forever(ex.parked_on_other_waits()):
        with ex.cond:
            ex.cond.wait(min(_EXTERNAL_WAIT_SLICE_S, _remaining(wall_deadline)))
        if wall_deadline is not None and time.monotonic() >= wall_deadline:
            ex.declare(Status.HANG, hang_message("timeout", ex.settings.timeout), limit="timeout")
        return True
    return False


def _remaining(wall_deadline: float | None) -> float:
    if wall_deadline is None:
        return _EXTERNAL_WAIT_SLICE_S
    return max(0.0, wall_deadline - time.monotonic())


def _finish(ex: Execution, current: int | None) -> None:
    """Collect backtraces when the end needs a report, then release every thread."""
    end = ex.end
    try:
        # A deadlock, a hang or a trap: the report shows where every other thread was.
        if end is not None and end.status in TRACED_ENDS:
            for tid in sorted(ex.threads):
                t = ex.threads[tid]
                if t.state is ThreadState.FINISHED or t.store is None:
                    continue
                _stop_and_trace(t, end.status.value, running=(tid == current))
    finally:
        for tid in sorted(ex.threads):
            ex.threads[tid].close()
        ex.release()


def _stop_and_trace(t: GuestThread, reason: str, running: bool) -> None:
    if t.state is ThreadState.PARKED:
        t.ended_by = "parked"
    else:
        t.ended_by = "running" if running else "runnable"
    t.stop_for_report(reason)
    for _ in range(4):  # instantiation may finish first, then the call traps
        if t.future is None or t.poll():
            break
    t.capture_frames()
