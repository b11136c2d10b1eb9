"""Exploration finds the bug guests' bugs, and every failure replays exactly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from child_processes import CHILD_LIMIT_S
from pytest_wasmconc.runtime import GuestIO, Preempt, Runner, RunSettings, Status

GUESTS = Path(__file__).resolve().parents[2] / "guests"


def test_lost_update_is_found_within_100_schedules_and_replays_the_same_value() -> None:
    runner = Runner(RunSettings())
    result = runner.explore(GUESTS / "c" / "lost_update.wasm", schedules=100)
    assert result.failed
    failing = result.outcome
    assert failing.exit_code == 1 and failing.token
    values = {runner.replay(GUESTS / "c" / "lost_update.wasm", failing.token).stdout for _ in range(10)}
    assert values == {failing.stdout}
    assert failing.stdout.startswith("counter=") and failing.stdout.strip() != "counter=100"


def test_opposite_order_mutexes_deadlock_is_reported_with_both_threads_backtraces() -> None:
    result = Runner(RunSettings()).explore(GUESTS / "c" / "lock_order.wasm", schedules=500)
    assert result.failed and result.outcome.status is Status.DEADLOCK
    report = result.outcome.report
    assert "deadlock" in report
    workers = [t for t in result.outcome.threads if t.tid != 0]
    assert len(workers) == 2
    assert all(t.state == "parked" and "pthread_mutex_lock" in t.frames[0] for t in workers)
    assert {"thread_ab", "thread_ba"} <= {f.split()[0] for t in workers for f in t.frames}


@pytest.mark.parametrize("guest", ["mutex_counter", "producer_consumer"])
def test_correctly_synchronised_guests_pass_many_schedules(guest: str) -> None:
    result = Runner(RunSettings()).explore(GUESTS / "c" / f"{guest}.wasm", schedules=150)
    assert not result.failed, result.outcome.report
    assert result.schedules_run == 150


def _run_in_subprocess(seed: int) -> str:
    code = (
        "import sys\n"
        "from pytest_wasmconc.runtime import Runner, RunSettings, GuestIO\n"
        f"o = Runner(RunSettings(seed={seed}, slice=200)).run({str(GUESTS / 'c' / 'many_writers.wasm')!r}, "
        "GuestIO(args=['4', '6']))\n"
        "sys.stdout.write(o.stdout + '|' + o.status.value + str(o.exit_code) + '|' + str(o.steps))\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          timeout=CHILD_LIMIT_S).stdout


def test_same_seed_in_two_processes_gives_byte_identical_output_and_outcome() -> None:
    assert _run_in_subprocess(11) == _run_in_subprocess(11)


def test_different_seeds_give_different_interleavings() -> None:
    outputs = {_run_in_subprocess(seed).split("|")[0] for seed in (1, 2, 3, 4)}
    assert len(outputs) > 1


def test_replaying_a_token_reproduces_the_decision_list() -> None:
    runner = Runner(RunSettings(seed=5, slice=300))
    first = runner.run(GUESTS / "c" / "many_writers.wasm", GuestIO(args=["3", "4"]))
    again = runner.replay(GUESTS / "c" / "many_writers.wasm", first.token or "", GuestIO(args=["3", "4"]))
    assert again.decisions == first.decisions and again.stdout == first.stdout


@pytest.mark.parametrize("preempt", [Preempt.FUEL, Preempt.EPOCH, Preempt.OS])
def test_opposite_order_mutexes_never_give_a_false_result_in_any_mode(preempt: Preempt) -> None:
    settings = RunSettings(preempt=preempt, policy="rr", slice=50)
    runner = Runner(settings)
    for _ in range(10):
        o = runner.run(GUESTS / "c" / "lock_order.wasm")
        assert o.status in (Status.DEADLOCK, Status.EXITED), o.report
        if o.status is Status.DEADLOCK:
            assert "pthread_mutex_lock" in o.report
        else:
            assert o.exit_code == 0
