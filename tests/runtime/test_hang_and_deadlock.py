"""Deadlocks are found the moment every thread is blocked; spinning is a hang; the process survives."""

from __future__ import annotations

import time

from pathlib import Path

import pytest
import wasmtime

from pytest_wasmconc.runtime import GuestIO, Preempt, Runner, RunSettings, Status

# Main and a worker both wait forever on words nobody notifies.
PARK_FOREVER = """(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func $park_worker (export "wasi_thread_start") (param i32 i32)
    (drop (memory.atomic.wait32 (i32.const 64) (i32.const 0) (i64.const -1))))
  (func $park_main
    (drop (memory.atomic.wait32 (i32.const 128) (i32.const 0) (i64.const -1))))
  (func (export "_start")
    (drop (call $spawn (i32.const 0)))
    (call $park_main)))"""

# A worker spins forever on a flag nobody sets; main waits for it.
SPIN = """(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func $spin_on_flag (export "wasi_thread_start") (param i32 i32)
    (loop $l (br_if $l (i32.eqz (i32.atomic.load (i32.const 64))))))
  (func (export "_start")
    (drop (call $spawn (i32.const 0)))
    (drop (memory.atomic.wait32 (i32.const 128) (i32.const 0) (i64.const -1)))))"""

# A timed wait nobody notifies: returns "timed out" (2) after 1000 s (of virtual time in fuel mode).
TIMED_WAIT = """(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))
  (func (export "wasi_thread_start") (param i32 i32))
  (func (export "_start")
    (call $exit (memory.atomic.wait32 (i32.const 64) (i32.const 0) (i64.const 1000000000000)))))"""

REPO = Path(__file__).resolve().parents[2]
MODES = [Preempt.FUEL, Preempt.EPOCH, Preempt.OS]


def _wasm(text: str) -> bytes:
    return wasmtime.wat2wasm(text)


@pytest.mark.parametrize("preempt", MODES)
def test_a_guest_that_parks_forever_is_a_deadlock_not_a_hang(preempt: Preempt) -> None:
    # Found when the last thread parks: waiting for a limit would make it a HANG instead.
    o = Runner(RunSettings(preempt=preempt)).run(_wasm(PARK_FOREVER))
    assert o.status is Status.DEADLOCK, o.report
    assert [t.state for t in o.threads] == ["parked", "parked"]
    assert "memory.atomic.wait32 @ 0x80" in (o.threads[0].waiting_on or "")
    assert o.threads[0].frames[0].startswith("park_main")
    assert o.threads[1].frames[0].startswith("park_worker")


@pytest.mark.parametrize("preempt", [Preempt.FUEL, Preempt.EPOCH])
def test_a_spinning_guest_is_a_hang_by_step_budget(preempt: Preempt) -> None:
    o = Runner(RunSettings(preempt=preempt, max_steps=2000, slice=1000)).run(_wasm(SPIN))
    assert o.status is Status.HANG
    assert "step budget of 2000" in o.report and "--max-steps" in o.report
    spinner = o.threads[1]
    assert spinner.frames and spinner.frames[0].startswith("spin_on_flag")
    assert o.threads[0].state == "parked"


@pytest.mark.parametrize("preempt", MODES)
def test_a_spinning_guest_is_ended_by_the_wall_clock_backstop(preempt: Preempt) -> None:
    t0 = time.monotonic()
    o = Runner(RunSettings(preempt=preempt, max_steps=None, timeout=1.0)).run(_wasm(SPIN))
    assert o.status is Status.HANG
    # What the backstop is for: a 1 s limit ends the run in seconds, not minutes (60 s: a
    # sanity bound far above a loaded machine's time, far below the default 300 s backstop).
    assert time.monotonic() - t0 < 60
    assert "wall-clock backstop" in o.report and o.hang_limit == "timeout"
    assert o.threads[1].frames and o.threads[1].frames[0].startswith("spin_on_flag")
    # the process and the runtime are intact: run something else afterwards
    again = Runner(RunSettings(preempt=preempt)).run(_wasm(PARK_FOREVER))
    assert again.status is Status.DEADLOCK


def test_virtual_time_ends_a_thousand_second_timed_wait_at_once_in_fuel_mode() -> None:
    t0 = time.monotonic()
    o = Runner(RunSettings(preempt=Preempt.FUEL)).run(_wasm(TIMED_WAIT))
    assert (o.status, o.exit_code) == (Status.EXITED, 2), o.report
    # The bound is what virtual time proves: a real 1000 s wait could not end within 100 s,
    # and 100 s is far above what this takes even on a loaded machine.
    assert time.monotonic() - t0 < 100


@pytest.mark.parametrize("preempt", [Preempt.EPOCH, Preempt.OS])
def test_a_short_timed_wait_times_out_in_real_time_modes(preempt: Preempt) -> None:
    short = TIMED_WAIT.replace("1000000000000", "20000000")  # 20 ms
    o = Runner(RunSettings(preempt=preempt)).run(_wasm(short))
    assert (o.status, o.exit_code) == (Status.EXITED, 2), o.report


@pytest.mark.parametrize("preempt", [Preempt.EPOCH, Preempt.OS])
def test_a_guest_sleeping_in_real_time_does_not_outlast_the_backstop(preempt: Preempt) -> None:
    from pathlib import Path

    from pytest_wasmconc.runtime import GuestIO

    sleeper = Path(__file__).resolve().parents[2] / "guests" / "wasi" / "sleep10.wasm"
    t0 = time.monotonic()
    o = Runner(RunSettings(preempt=preempt, timeout=0.5)).run(sleeper, GuestIO(args=["600000"]))  # 10 minutes
    assert o.status is Status.HANG, o.report
    # The bound is what this proves: the backstop cut the 600 s sleep short (60 s is far
    # above a loaded machine's time for a 0.5 s backstop, far below the sleep).
    assert time.monotonic() - t0 < 60


# A worker spins on a compare-exchange of a lock word main holds and never releases: every attempt
# fails and changes nothing, so the spin is a hang (an atomic that changes memory is progress).
CAS_SPIN = """(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func $spin_on_held_lock (export "wasi_thread_start") (param i32 i32)
    (loop $l (br_if $l (i32.atomic.rmw.cmpxchg (i32.const 64) (i32.const 0) (i32.const 1)))))
  (func (export "_start")
    (i32.atomic.store (i32.const 64) (i32.const 1))
    (drop (call $spawn (i32.const 0)))
    (drop (memory.atomic.wait32 (i32.const 128) (i32.const 0) (i64.const -1)))))"""
CAS_COUNTER = REPO / "guests" / "libc" / "cas_counter.wasm"


def test_a_compare_exchange_spin_on_a_held_lock_is_still_a_hang() -> None:
    o = Runner(RunSettings(preempt=Preempt.FUEL, max_steps=2000, slice=1000)).run(_wasm(CAS_SPIN))
    assert o.status is Status.HANG, o.report
    assert o.threads[1].frames and o.threads[1].frames[0].startswith("spin_on_held_lock")


def test_lock_free_work_with_company_is_progress_not_a_hang() -> None:
    # 2 threads x 20,000 compare-exchange increments: about 40,000 scheduling steps, none of them a thread
    # starting, ending or released; a budget of 5,000 steps called this a hang before atomics counted.
    o = Runner(RunSettings(preempt=Preempt.FUEL, max_steps=5000, seed=1)).run(CAS_COUNTER,
                                                                             GuestIO(args=["2", "20000"]))
    assert o.status is Status.EXITED and o.exit_code == 0, o.report
    assert o.stdout == "threads=2 counter=40000\n"
