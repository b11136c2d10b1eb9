"""The race check stops with a clear trap when its vector clocks would outgrow the machine.

Their storage grows with the square of the threads: a conformance test that starts threads until
`pthread_create` fails (16,384) took the whole machine's memory and Linux's OOM killer ended the
process. Past a budget (a quarter of the machine's memory) a clock does not grow and the calling
thread traps with a message that says why; the budget is lowered here to meet it with 40 threads.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_wasmconc.checks.races import RaceCheck, _native
from pytest_wasmconc.runtime import GuestIO, Preempt, Runner, RunSettings, Status

GUEST = Path(__file__).resolve().parents[3] / "guests" / "libc" / "mutex_many_threads.wasm"


@pytest.fixture
def small_budget() -> Iterator[None]:
    # The count is the process's: detectors of earlier tests that are still alive are in it.
    live = _native.set_vc_budget(0)
    _native.set_vc_budget(live + (64 << 10))
    try:
        yield
    finally:
        _native.set_vc_budget(0)


def _run(threads: int) -> tuple[Status, str]:
    outcome = Runner(RunSettings(preempt=Preempt.FUEL, seed=1)).run(GUEST, GuestIO(args=[str(threads), "2"]),
                                                                   extensions=[RaceCheck(native=True)])
    return outcome.status, outcome.report


def test_past_the_budget_the_check_stops_the_run_with_a_trap_that_says_why(small_budget: None) -> None:
    status, report = _run(40)
    assert status is Status.TRAPPED, report
    assert "the race check stopped: its vector clocks" in report
    assert "fewer threads" in report


def test_under_the_budget_the_same_program_runs_to_its_end(small_budget: None) -> None:
    status, report = _run(4)
    assert status is Status.EXITED, report


def test_the_default_budget_leaves_the_program_alone() -> None:
    status, report = _run(40)
    assert status is Status.EXITED, report
    # every detector's clocks were given back when it went (the count is of live detectors only)
    assert _native.set_vc_budget(0) >= 0
