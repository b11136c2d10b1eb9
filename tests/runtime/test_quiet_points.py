"""A thread spinning through host calls spends the step budget in seconds; long work made of them does not.

A quiet point is a visible operation at which the scheduler had nothing to
decide: a scheduling point of a thread running alone, a futex wait that
returned at once (_lane_c/lane.h). Each is charged to the step budget like
QUIET_POINT_COST units of fuel. Before, they cost nothing: a lone thread
spinning on an atomic load (a host call at the `memory` and `shared` levels)
took 4-6 minutes to spend the budget, so the 300 s backstop usually ended it.

The hangs run in a `wasmconc` subprocess (tests/child_processes.py bounds it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from child_processes import CHILD_LIMIT_S
from pytest_wasmconc.runtime import Preempt, Runner, RunSettings, Status
from pytest_wasmconc.runtime.lane import _lane

GUESTS = Path(__file__).resolve().parents[2] / "guests"
HANG_EXIT = 124  # `wasmconc run`: a hang or a deadlock


def _wasmconc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_wasmconc", *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=CHILD_LIMIT_S, check=False)


@pytest.mark.parametrize("level", [None, "memory"], ids=["default-level", "memory"])
def test_the_zig_join_race_hang_is_found_by_the_step_budget_before_the_backstop(level: str | None) -> None:
    # A real lost wakeup in Zig 0.17's std.Thread (guests/README.md): main spins in
    # WasiThreadImpl.join on an atomic load of a thread id nobody will reset, alone, the
    # other thread finished. Schedule 0 of seed 2 hangs; later ones stand in should a change
    # of the instrumentation move it. With a 120 s backstop the verdict must be the budget's.
    r = _wasmconc("explore", str(GUESTS / "zig" / "zig_join_race.wasm"), "--seed", "2", "--schedules", "50",
                  "--policy", "random", "--timeout", "120", *(["--level", level] if level else []))
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "hang (step budget)" in out and "wall-clock" not in out, out
    assert "Thread.WasiThreadImpl.join" in out, out


def test_a_lone_thread_spinning_on_waits_that_return_at_once_is_a_hang_by_step_budget() -> None:
    # Every wait32 expects a value the word never has: "not-equal" at once, at every level
    # (before: 2,500 waits per step, the default budget in about an hour of host calls).
    r = _wasmconc("run", str(GUESTS / "wat" / "wait_spin_forever.wasm"), "--level", "waits", "--timeout", "120")
    assert r.returncode == HANG_EXIT, r.stdout + r.stderr
    assert "step budget of 1000000" in r.stderr and "spin_on_stale_wait" in r.stderr, r.stderr


def test_the_budget_ends_a_lone_spin_at_the_point_it_runs_out_not_at_the_end_of_its_quantum() -> None:
    # A thread alone gets 256 slices per quantum (~640,000 points of this loop): the quiet
    # point that spends the budget yields, so the run stops right there.
    r = _wasmconc("run", str(GUESTS / "wat" / "spin_forever.wasm"), "--level", "memory",
                  "--max-steps", "2000", "--timeout", "120")
    assert r.returncode == HANG_EXIT, r.stdout + r.stderr
    steps = int(r.stderr.split(" scheduling steps")[0].rsplit(" ", 1)[1])
    assert 2000 <= steps < 2100, r.stderr


def test_long_work_of_a_lone_thread_made_of_scheduling_points_is_not_a_hang() -> None:
    # 100,000 atomic increments while main waits: each a quiet point, charged like
    # QUIET_POINT_COST units of fuel (10,000 steps at the default slice), not a whole step:
    # inside a budget of 50,000 steps that 100,000 steps would have spent.
    settings = RunSettings(preempt=Preempt.FUEL, max_steps=50_000, timeout=120.0)
    guest = GUESTS / "wat" / "lone_atomic_work.wasm"
    o = Runner(settings).run(guest)
    assert (o.status, o.exit_code) == (Status.EXITED, 0), o.report
    # ... and counted: the `waits` level has no scheduling point before an atomic.
    plain = Runner(settings.with_(level="waits")).run(guest)
    assert (plain.status, plain.exit_code) == (Status.EXITED, 0), plain.report
    assert o.steps - plain.steps >= 100_000 * _lane.QUIET_POINT_COST // settings.slice


def test_quiet_points_do_not_count_in_epoch_mode() -> None:
    # Epoch mode counts time slices; its points inside a slice are not steps even with company.
    o = Runner(RunSettings(preempt=Preempt.EPOCH, max_steps=50_000, timeout=120.0)).run(
        GUESTS / "wat" / "lone_atomic_work.wasm")
    assert (o.status, o.exit_code) == (Status.EXITED, 0), o.report
    assert o.steps < 1_000
