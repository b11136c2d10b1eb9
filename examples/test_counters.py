"""Counters shared by guest threads: one correct (a mutex), one racy."""

from __future__ import annotations

import pytest

from pytest_wasmconc.plugin import GuestOutcomeError


def test_mutex_counter_counts_every_increment_in_every_schedule(wasm_scheduler, c_guest):
    # explore() runs --wasm-schedules schedules (100 here, see pytest.ini); a schedule
    # that does not exit with code 0 fails the test (expect=/expect_exit= say otherwise).
    # When all pass it returns the last outcome, for the test's own assertions.
    outcome = wasm_scheduler.explore(c_guest("mutex_counter"))
    assert outcome.stdout == "counter=100\n"


def test_a_single_run_returns_the_guests_output(wasm_scheduler, c_guest):
    outcome = wasm_scheduler.run(c_guest("producer_consumer"), args=["50", "2"])
    assert outcome.stdout == "sum=1275\n"


# Finding a race needs the deterministic scheduler: the marker pins fuel mode
# even when the suite runs under --wasm-preempt=epoch or os.
@pytest.mark.wasm_settings(preempt="fuel", schedules=200)
@pytest.mark.xfail(raises=GuestOutcomeError, reason="lost_update.c increments without a lock: a known race",
                   strict=True)
def test_lost_update_never_loses_an_update(wasm_scheduler, c_guest):
    # The failure shows the guest's threads and the command that replays the
    # failing schedule; the next run of the test replays that schedule first.
    wasm_scheduler.explore(c_guest("lost_update"))
