"""The serial driver: every guest thread on this one OS thread, a policy picks who runs.

Fuel mode gives each quantum an exact amount of fuel, so the same policy
and seed give the same interleaving in any process. Epoch mode cuts quanta
by wall-clock ticks instead. Both treat host waits (futex, sleep, blocking
reads) and scheduling points (atomic RMWs, notify, spawn, sched_yield) as
decisions of the policy.
"""

from __future__ import annotations

import time

from ..schedulers.base import Policy, SwitchReason
from . import capi
from .execution import Execution
from .hostapi import Yield
from .outcome import Status
from .report import hang_message
from .settings import Preempt
from .threads import GuestThread, ThreadState
from .ticker import EpochTicker

__all__ = ["run_serial"]

# While every thread waits on the outside world (stdin), how often to re-check
# the wall-clock backstop.
_EXTERNAL_WAIT_SLICE_S = 0.05
# A thread that runs alone gets this many slices in one quantum: nothing else
# can become runnable without a host call, and host calls that wake or spawn
# are scheduling points anyway, so preempting it often would only cost time.
# It still yields now and then so the step budget and the wall-clock
# backstop are checked; its quantum counts as the slices it replaced.
_SOLO_SLICES = 256
# Epoch mode: counter units before the first look at the clock in a slice (the
# thread then sizes its refills by its own speed, see GuestThread.extend_quantum).
_EPOCH_CHECK = 50_000


def run_serial(ex: Execution, policy: Policy) -> None:
    """Drive `ex` to its end; afterwards `ex.end` says why it ended."""
    settings = ex.settings
    # Wasmtime epochs slice only components; core modules are sliced by the
    # instrumented counter in epoch mode too (instrument/preempt.py).
    epochs = ex.program.engine_settings.epochs
    ticker = EpochTicker.shared(ex.program.engine, settings.epoch_tick_ms) if epochs else None
    wall_deadline = time.monotonic() + settings.timeout if settings.timeout else None

    main = ex.new_thread(None)
    store = main.create_store()
    ex.link(store)
    main.begin_instantiate()
    ex.on_spawn = lambda t: policy.on_spawn(t.tid)
    policy.new_execution()
    policy.on_spawn(0)

    progress = _Progress()
    try:
        if ticker is not None:
            ticker.acquire()
        with capi.interrupts_deferred():
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
    # clock when its counter runs out (GuestThread.extend_quantum).
    timed = not fuel and ex.program.engine_settings.counter
    tick_ns = int(settings.epoch_tick_ms * 1e6)
    max_steps = settings.max_steps
    threads = ex.threads
    current: int | None = None
    reason = SwitchReason.START
    while ex.end is None:
        if wall_deadline is not None and time.monotonic() >= wall_deadline:
            # Checked first: threads sleeping in real time (epoch mode) must not outlast it.
            ex.declare(Status.HANG, hang_message("timeout", settings.timeout))
            break
        runnable = _runnable(ex)
        if not runnable:
            if _idle(ex, wall_deadline):
                continue
            ex.declare(Status.DEADLOCK, "deadlock")
            break
        if max_steps is not None and ex.steps >= max_steps:
            ex.declare(Status.HANG, hang_message("max-steps", max_steps))
            break
        ex.steps += 1
        solo = len(runnable) == 1 and ex.alone(threads[runnable[0]])
        if solo:
            # Deterministic without asking the policy: there is no choice.
            tid = runnable[0]
        else:
            tid = policy.pick(runnable, current if current in runnable else None, reason)
        t = threads[tid]
        if t.state is ThreadState.NEW:
            t.start()
        if fuel:
            t.begin_quantum(settings.slice * _SOLO_SLICES if solo else policy.slice_for(tid))
        elif timed:
            began_ns = time.monotonic_ns()
            t.begin_quantum(_EPOCH_CHECK, began_ns + (tick_ns * _SOLO_SLICES if solo else tick_ns))
        ex.spawned_in_step = False
        finished = t.poll()
        if fuel:
            used = t.fuel_used()
            ex.clock.advance(used)
            if solo:
                ex.steps += max(0, used // settings.slice - 1)
        elif timed and solo:
            ex.steps += max(0, (time.monotonic_ns() - began_ns) // tick_ns - 1)  # the ticks it replaced
        current = progress.current = tid
        if finished:
            ex.thread_finished(t)
            reason = SwitchReason.EXITED
        elif t.wait is None:
            reason = SwitchReason.PREEMPTED
        elif isinstance(t.wait, Yield):
            reason = SwitchReason.SPAWNED if ex.spawned_in_step else SwitchReason.YIELDED
        else:
            reason = SwitchReason.BLOCKED


def _runnable(ex: Execution) -> list[int]:
    now = ex.clock.now_ns()
    out = []
    for tid, t in ex.threads.items():
        st = t.state
        if st is ThreadState.RUNNABLE or st is ThreadState.NEW or st is ThreadState.PARKED and ex.try_wake(t, now):
            out.append(tid)
    out.sort()
    return out


def _idle(ex: Execution, wall_deadline: float | None) -> bool:
    """No thread can run: jump the clock, or wait for the outside world. False = deadlock."""
    parked = [t for t in ex.threads.values() if t.state is ThreadState.PARKED]
    deadlines = [t.deadline_ns for t in parked if t.deadline_ns is not None]
    if deadlines:
        earliest = min(deadlines)
        if ex.deterministic:
            ex.clock.advance_to(earliest)  # virtual time: no real sleeping
        else:
            delay = (earliest - ex.clock.now_ns()) / 1e9
            if delay > 0:
                with ex.cond:
                    ex.cond.wait(min(delay, _remaining(wall_deadline)))
        return True
    if not ex.blocked_forever(parked):
        with ex.cond:
            ex.cond.wait(min(_EXTERNAL_WAIT_SLICE_S, _remaining(wall_deadline)))
        if wall_deadline is not None and time.monotonic() >= wall_deadline:
            ex.declare(Status.HANG, hang_message("timeout", ex.settings.timeout))
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
        if end is not None and end.status in (Status.DEADLOCK, Status.HANG):
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
