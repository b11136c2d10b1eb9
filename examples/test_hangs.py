"""Deadlocks and hangs: with wasm_no_hang any guest execution that never ends fails the test."""

from __future__ import annotations

import pytest

from pytest_wasmconc.plugin import GuestHangError


@pytest.mark.wasm_no_hang
def test_producer_and_consumer_always_finish(wasm_scheduler, c_guest):
    outcome = wasm_scheduler.explore(c_guest("producer_consumer"), args=["20", "1"], schedules=30)
    assert outcome.stdout == "sum=210\n"


# lock_order.c takes two mutexes in opposite orders: some schedules deadlock.
# A real suite would not keep such a test: it shows what the failure raises.
# The seed is pinned: a strict xfail must fail every run, and about one random seed in
# fifty explores 100 schedules of this guest without the deadlock.
@pytest.mark.wasm_settings(preempt="fuel", seed=4)
@pytest.mark.wasm_no_hang
@pytest.mark.xfail(raises=GuestHangError, reason="lock_order.c: a lock-order deadlock", strict=True)
def test_two_threads_taking_two_locks_never_deadlock(wasm_scheduler, c_guest):
    wasm_scheduler.explore(c_guest("lock_order"))


# A worker spinning forever: ended cleanly after 2 s in every mode, the
# report shows each thread, the test process carries on.
@pytest.mark.wasm_no_hang(timeout=2)
@pytest.mark.xfail(raises=GuestHangError, reason="spin.wat never ends", strict=True)
def test_a_spinning_worker_is_reported_as_a_hang(wasm_scheduler, wat_guest):
    wasm_scheduler.run(wat_guest("spin"))


# A hang fails the test like any other unexpected ending; expect="hang" says it
# is the one expected. Under pytest-timeout the plugin ends a stuck guest a margin
# before the test's timeout (here after about 2 s), so the test still gets to look at it.
@pytest.mark.timeout(3)
def test_under_pytest_timeout_a_stuck_guest_ends_before_the_test_does(wasm_scheduler, wat_guest):
    outcome = wasm_scheduler.run(wat_guest("spin"), expect="hang")
    assert "spin" in outcome.report  # the spinning worker's backtrace
