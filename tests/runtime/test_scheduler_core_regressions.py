"""The scheduler core under what real programs do (real wasi-libc guests, guests/libc/).

Each test pins one failure seen on programs nobody here wrote: a crash with
more than 16 runnable threads, long real work called a hang, virtual time
that stood still beside a spinning thread, an epoch-mode thread starved by
another's slow host calls, and a false deadlock in OS-thread mode after main
returned. Runs in-process with a wall-clock backstop, so a regression fails
instead of hanging.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from pytest_wasmconc.runtime import GuestIO, Preempt, Runner, RunSettings, Status
from pytest_wasmconc.runtime.machine import execution
from pytest_wasmconc.runtime.drivers import os_threads
from pytest_wasmconc.runtime.machine.threads import THREADS, ThreadState

GUESTS = Path(__file__).resolve().parents[2] / "guests"
LIBC = GUESTS / "libc"
BACKSTOP_S = 240.0  # only so that a regression fails instead of hanging; never reached when all is well

SERIAL = [Preempt.FUEL, Preempt.EPOCH]


def _run(guest: str, *args: str, **settings: Any) -> Any:
    settings.setdefault("timeout", BACKSTOP_S)
    return Runner(RunSettings(**settings)).run(LIBC / guest, GuestIO(args=list(args)))


def _passed(o: Any) -> bool:
    return o.status is Status.EXITED and o.exit_code == 0


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    # In a subprocess: the failure this guards against was a segfault.
    return subprocess.run([sys.executable, "-m", "pytest_wasmconc.cli", *argv], capture_output=True, text=True,
                          timeout=BACKSTOP_S)


@pytest.mark.parametrize("preempt", SERIAL, ids=lambda p: p.value)
def test_64_runnable_threads_spawned_while_others_run_do_not_crash_the_serial_driver(preempt: Preempt) -> None:
    # The native lane sized its run array once per stretch; threads spawned
    # during the stretch wrote past it (a segfault past 16 runnable threads).
    r = _cli("run", "--preempt", preempt.value, "--seed", "3", str(LIBC / "mutex_many_threads.wasm"), "--", "64", "50")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "threads=64 counter=3200"


def test_exploring_24_threads_on_one_mutex_finds_every_schedule_correct() -> None:
    r = _cli("explore", "--schedules", "20", "--seed", "5", "--slice", "200", str(LIBC / "mutex_many_threads.wasm"),
             "--", "24", "40")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "explored 20 schedules" in r.stdout + r.stderr


def test_long_real_work_is_not_a_hang_the_budget_counts_steps_without_progress() -> None:
    # A pool of 4 workers running 300 jobs takes some 20,000 scheduling steps,
    # far more than the budget, but workers are released by condition
    # variables all along: that is progress, so the budget never runs out.
    o = _run("thread_pool.wasm", "300", "4", preempt=Preempt.FUEL, max_steps=3000, slice=50)
    assert _passed(o), o.report
    assert o.steps > 3 * 3000


def test_a_spin_loop_still_exhausts_the_budget_and_the_report_names_the_option() -> None:
    o = Runner(RunSettings(preempt=Preempt.FUEL, max_steps=2000, timeout=BACKSTOP_S)).run(
        GUESTS / "wat" / "spin_forever.wasm")
    assert o.status is Status.HANG
    assert "no progress within the step budget of 2000" in o.report and "--max-steps" in o.report


def test_a_sleeper_wakes_beside_a_sched_yield_spinner_in_fuel_mode() -> None:
    # Virtual time moved only by fuel and 1 us per clock read: the spinner's
    # yields never let the sleeper's deadline come (a false hang).
    o = _run("yield_spin_sleeper.wasm", "1000", preempt=Preempt.FUEL)
    assert _passed(o), o.report
    assert o.steps < 100_000  # time moves with the spinner's yields: no million-step crawl


def test_a_busy_wait_on_the_clock_reaches_its_deadline_in_fuel_mode() -> None:
    o = _run("clock_spin_deadline.wasm", "1000", preempt=Preempt.FUEL)
    assert _passed(o), o.report
    assert o.steps < 100_000


def test_libc_busy_wait_futex_mode_times_out_in_fuel_mode() -> None:
    o = _run("busywait_timedwait.wasm", "1000", "500", preempt=Preempt.FUEL)
    assert _passed(o), o.report


def test_virtual_time_is_deterministic_with_spinning_threads() -> None:
    first = _run("yield_spin_sleeper.wasm", "300", preempt=Preempt.FUEL, seed=11)
    second = _run("yield_spin_sleeper.wasm", "300", preempt=Preempt.FUEL, seed=11)
    assert (first.stdout_bytes, first.stderr_bytes, first.steps, first.decisions) == \
           (second.stdout_bytes, second.stderr_bytes, second.steps, second.decisions)


def test_epoch_mode_ends_a_time_slice_that_runs_out_inside_host_calls() -> None:
    # Two threads each poll the clock 1000 times. Each call outlasts a 1 us
    # tick, so every call must end its thread's slice; before, a thread kept
    # the CPU until its counter refill ran out: one decision in the whole run.
    o = Runner(RunSettings(preempt=Preempt.EPOCH, epoch_tick_ms=0.001, timeout=BACKSTOP_S)).run(
        GUESTS / "wat" / "clock_poll_pair.wasm")
    assert o.status is Status.EXITED and o.exit_code == 0, o.report
    assert len(o.decisions) >= 100


def test_1000_threads_at_a_barrier_exit_cleanly_in_os_mode() -> None:
    o = _run("barrier_threads.wasm", "1000", preempt=Preempt.OS)
    assert _passed(o), o.report
    assert "deadlock" not in o.report


# -- the OS-thread deadlock verdict, against fake threads ---------------------------


class _FakeThread:
    def __init__(self, tid: int, state: ThreadState) -> None:
        self.tid = tid
        self.state = state
        self.deadline_ns = None
        self.wait = None
        self.wakeup = threading.Condition()
        self.kill_message: str | None = None
        self.ended_by: str | None = None


class _FakeNative:
    def __init__(self, threads: list[_FakeThread]) -> None:
        self.nlive = sum(t.state is not ThreadState.FINISHED for t in threads)
        self.nparked = sum(t.state is ThreadState.PARKED for t in threads)


class _FakeExecution:
    def __init__(self, threads: list[_FakeThread]) -> None:
        self.threads = {t.tid: t for t in threads}
        self.unsettled = set(threads)  # (the fakes' ends are applied by the tests)
        self.native = _FakeNative(threads)
        self.declared: list[str] = []
        self.end: Any = None

    def try_wake(self, t: _FakeThread, now: int) -> bool:
        return False

    def blocked_forever(self, threads: list[_FakeThread]) -> bool:
        return True

    def declare(self, status: Status, message: str) -> None:
        self.declared.append(message)
        self.end = type("End", (), {"status": status})()


def test_no_deadlock_verdict_while_a_finished_thread_is_not_yet_settled() -> None:
    # main returned (its future completed: FINISHED) but the execution has not
    # applied its end yet; every other thread is parked on a join.
    ex = _FakeExecution([_FakeThread(0, ThreadState.FINISHED),
                         _FakeThread(1, ThreadState.PARKED), _FakeThread(2, ThreadState.PARKED)])
    os_threads._check_deadlock(ex, 0)  # type: ignore[arg-type]
    assert ex.declared == []
    ex.unsettled.discard(ex.threads[0])  # thread_finished applied main's end
    os_threads._check_deadlock(ex, 0)  # type: ignore[arg-type]
    assert ex.declared == ["deadlock"]
    # The verdict took each thread's state as it saw it: parked (their reports say so whatever their
    # waits do before the teardown reaches them).
    assert [(t.ended_by, t.kill_message is not None) for t in (ex.threads[1], ex.threads[2])] == [
        ("parked", True), ("parked", True)]


def test_no_deadlock_verdict_while_a_thread_is_starting() -> None:
    ex = _FakeExecution([_FakeThread(0, ThreadState.PARKED), _FakeThread(1, ThreadState.NEW)])
    os_threads._check_deadlock(ex, 0)  # type: ignore[arg-type]
    assert ex.declared == []


# -- thread limits --------------------------------------------------------------------


@pytest.mark.parametrize("preempt", [Preempt.FUEL, Preempt.OS], ids=lambda p: p.value)
def test_thread_spawn_fails_with_eagain_at_the_live_thread_limit(preempt: Preempt,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # Past the process's memory mappings, instantiating one more thread failed
    # (serial modes: the run ended as a load error) or Wasmtime aborted (OS
    # mode); the guest must instead see pthread_create fail, as under an OS.
    monkeypatch.setattr(execution, "MAX_LIVE_THREADS_SERIAL", 40)
    monkeypatch.setattr(execution, "MAX_LIVE_THREADS_OS", 40)
    o = _run("thread_bomb.wasm", "1000", preempt=preempt)
    assert _passed(o), o.report
    assert o.stdout_bytes == b"created 39, then EAGAIN\njoined 39\n"


def test_thread_spawn_fails_when_the_os_refuses_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    started = 0
    real_start = threading.Thread.start

    def start(self: threading.Thread) -> None:
        nonlocal started
        if self.name.startswith("wasmconc-guest-"):
            if started >= 10:
                raise RuntimeError("can't start new thread")
            started += 1
        real_start(self)

    monkeypatch.setattr(threading.Thread, "start", start)
    o = _run("thread_bomb.wasm", "1000", preempt=Preempt.OS)
    assert _passed(o), o.report
    assert o.stdout_bytes == b"created 9, then EAGAIN\njoined 9\n"  # main is the first of the 10


class _NoScan(dict):  # type: ignore[type-arg]
    def values(self) -> Any:
        raise AssertionError("scanned every thread the run ever had")

    def __iter__(self) -> Any:
        raise AssertionError("scanned every thread the run ever had")


def test_the_os_mode_deadlock_check_looks_only_at_unsettled_threads() -> None:
    # It ran at every park and every thread end; scanning all threads ever
    # started made a program that starts threads all its life slow down
    # (40,000 short-lived threads: 228 s, now flat at ~0.5 ms each).
    live = [_FakeThread(0, ThreadState.PARKED), _FakeThread(7, ThreadState.PARKED)]
    ex = _FakeExecution(live)
    ex.threads = _NoScan({t: _FakeThread(t, ThreadState.FINISHED) for t in range(1, 10_000)})
    os_threads._check_deadlock(ex, 0)  # type: ignore[arg-type]
    assert ex.declared == ["deadlock"]


def test_a_finished_thread_releases_its_instance_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each guest thread holds memory mappings (its fiber stack and guard);
    # finished threads kept their stores until the run ended, and a program
    # starting threads all its life died after ~32,000 (65,530 mappings per
    # process). A thread's store is registered in THREADS until it is closed.
    peak = 0
    spawn = execution.Execution.spawn

    def counting_spawn(self: Any, parent: Any, start_arg: int) -> int:
        nonlocal peak
        peak = max(peak, len(THREADS))
        return spawn(self, parent, start_arg)

    monkeypatch.setattr(execution.Execution, "spawn", counting_spawn)
    o = _run("spawn_join_loop.wasm", "300", preempt=Preempt.FUEL)
    assert _passed(o), o.report
    assert peak <= 3  # main and the one thread it joins (and a moment of overlap), not 300 stores


def test_sched_yield_in_os_mode_gives_up_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    # It returned at once: a thread yielding five times to let another run
    # (wasi-libc's pthread_detach/2-1 conformance test) never let it.
    yields = 0
    real = os_threads._yield_cpu

    def counting_yield() -> None:
        nonlocal yields
        yields += 1
        real()

    monkeypatch.setattr(os_threads, "_yield_cpu", counting_yield)
    o = _run("yield_spin_sleeper.wasm", "50", preempt=Preempt.OS)
    assert _passed(o), o.report
    assert yields > 0
