"""The OS-thread driver: each guest thread on its own OS thread, truly parallel.

Host waits park the OS thread on the execution's condition variable. The
thread that parks last checks whether anything can still wake anyone: if
not, the guest is deadlocked and every parked thread is stopped with its
backtrace at once. When the guest ends, threads spinning in wasm are
stopped at their next epoch tick.
"""

from __future__ import annotations

import os
import threading
import time

from ..errors import ModuleError
from ..machine.ends import TRACED_ENDS
from ..machine.execution import Execution
from ..hostapi import Yield
from ..outcome import Status
from ..report import hang_message
from ..machine.threads import GuestThread, ThreadState
from .ticker import EpochTicker

__all__ = ["run_os"]

_JOIN_GRACE_S = 5.0
# os.sched_yield releases the GIL around the system call; Windows has none.
_yield_cpu = getattr(os, "sched_yield", lambda: time.sleep(0))


def run_os(ex: Execution) -> None:
    settings = ex.settings
    ticker = EpochTicker.shared(ex.program.engine, max(settings.epoch_tick_ms, 1.0))
    os_threads: list[threading.Thread] = []
    wall_deadline = time.monotonic() + settings.timeout if settings.timeout else None

    def launch(t: GuestThread) -> None:
        th = threading.Thread(target=_thread_body, args=(ex, t), name=f"wasmconc-guest-{t.tid}", daemon=True)
        th.start()  # RuntimeError when the OS refuses: thread-spawn then fails (Execution.spawn)
        os_threads.append(th)

    ticker.acquire()
    try:
        main = ex.new_thread(None)
        main.create_store()
        assert main.store is not None
        ex.link(main.store)
        ex.on_spawn = launch
        launch(main)
        try:
            with ex.cond:
                while ex.end is None:
                    remaining = None if wall_deadline is None else wall_deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        break
                    ex.cond.wait(remaining)
        except BaseException:
            # Ctrl-C (KeyboardInterrupt) while waiting: the guest threads still run wasm in the
            # execution's memory and stores, which the finally below releases; a thread left
            # running in them crashed the process. End the execution and join them first.
            ex.declare(Status.TRAPPED, "wasmconc: interrupted")
            _stop_all(ex)
            _join(os_threads, ex)
            raise
        if ex.end is None:
            ex.declare(Status.HANG, hang_message("timeout", settings.timeout), limit="timeout")
        _stop_all(ex)
        _join(os_threads, ex)
        if ex.load_error is not None:
            raise ex.load_error
    finally:
        ticker.release()
        ex.release()


def _mark_for_report(ex: Execution, t: GuestThread) -> None:
    """Caller holds ex.cond. After a deadlock, hang or trap, make `t` stop with its backtrace."""
    end = ex.end
    if end is None or end.status not in TRACED_ENDS or t.kill_message is not None:
        return
    if t.state is ThreadState.FINISHED:
        return
    t.ended_by = "parked" if t.state is ThreadState.PARKED else "running"
    t.kill_message = f"wasmconc: stopped ({end.status.value})"


def _stop_all(ex: Execution) -> None:
    with ex.cond:
        for t in list(ex.unsettled):
            _mark_for_report(ex, t)
        ex.wake_everyone()


def _join(os_threads: list[threading.Thread], ex: Execution) -> None:
    deadline = time.monotonic() + _JOIN_GRACE_S
    i = 0
    while i < len(os_threads):  # threads may still be launched while we join
        os_threads[i].join(max(0.0, deadline - time.monotonic()))
        i += 1
    stuck = [th.name for th in os_threads if th.is_alive()]
    if stuck:
        # A host function blocking outside the runtime's control: report, never hang.
        ex.stuck_threads = stuck


def _thread_body(ex: Execution, t: GuestThread) -> None:
    try:
        if t.store is None:
            t.create_store()
        t.begin_instantiate()
        while True:
            if ex.end is not None:
                with ex.cond:
                    _mark_for_report(ex, t)
                if t.kill_message is None:
                    break
            if t.poll():
                ex.thread_finished(t)
                with ex.cond:
                    # The others may all be parked, waiting on this thread's
                    # end to be applied before a verdict (see _check_deadlock).
                    _check_deadlock(ex, ex.clock.now_ns())
                ex.poke()
                break
            wait = t.wait
            if wait is None:
                continue
            if isinstance(wait, Yield):
                # sched_yield: give up the CPU for real, as the OS call does (a
                # guest's thread may count on another running meanwhile).
                _yield_cpu()
                continue
            _park(ex, t)
    except ModuleError as exc:  # the module cannot run here: re-raised by run_os
        ex.load_error = exc
        ex.declare(Status.TRAPPED, str(exc))
    except BaseException as exc:  # an internal error must end the guest, not hang it
        ex.declare(Status.TRAPPED, f"internal error in guest thread {t.tid}: {exc!r}")
    finally:
        t.capture_frames()
        with ex.cond:
            t.state = ThreadState.FINISHED
            t.settle()  # (an internal error: nothing more will be applied)
            ex.cond.notify_all()
        t.close()


def _park(ex: Execution, t: GuestThread) -> None:
    with ex.cond:
        while True:
            if ex.end is not None:
                # Either leave (plain end) or poll once more so the resume
                # traps with the backtrace.
                _mark_for_report(ex, t)
                return
            now = ex.clock.now_ns()
            if ex.try_wake(t, now):
                return
            _check_deadlock(ex, now)
            if ex.end is not None:
                continue
            timeout = None if t.deadline_ns is None else max(0.0, (t.deadline_ns - now) / 1e9)
            ex.park_os_thread(t, timeout)


def _check_deadlock(ex: Execution, now: int) -> None:
    """Caller holds ex.cond. Declare a deadlock if every live thread is parked for good.

    Race-free against threads that are starting (NEW counts as live, from the
    moment thread-spawn registers them), running, or finishing: a thread whose
    future completed is FINISHED before the execution applies its end (main
    returning ends the guest, a trap fails it), so no verdict is given while
    such a thread is unsettled; the finishing thread looks again once its end
    is applied (_thread_body). Only unsettled threads are looked at, so the
    cost does not grow with the threads that came and went.
    """
    native = ex.native
    if native.nparked < native.nlive:
        return  # someone is running or about to (the common case: no scan)
    if any(x.state is ThreadState.FINISHED for x in ex.unsettled):
        return
    live = list(ex.unsettled)
    for x in live:
        if x.state is not ThreadState.PARKED:
            return
        if ex.try_wake(x, now):
            x.wakeup.notify()
            return
    if live and ex.blocked_forever(live):
        ex.declare(Status.DEADLOCK, "deadlock")
        # Each thread's state as the verdict saw it (all parked), taken now: a thread whose wait
        # returns before the teardown reaches it (a host lock's wait wakes to look again) would
        # otherwise report itself running, woken from the wait it is deadlocked in.
        for x in live:
            _mark_for_report(ex, x)
