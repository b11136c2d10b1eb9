"""The native execution state that keeps a step's cost independent of parked threads.

`_lane.Exec` keeps an active set (live threads that are neither blocked on a
futex nor parked until a deadline) in tid order, and counts of live, parked
and timed-parked threads; its futex table is a hash table of per-address FIFO
queues. Every step and scheduling point reads these instead of scanning all
threads, so they must stay exact through every state change. No wasm here.
"""

from __future__ import annotations

import random

from pytest_wasmconc.runtime.lane import _lane

NEW, RUNNABLE, PARKED, FINISHED = 0, 1, 2, 3


def _exec(n: int) -> tuple[_lane.Exec, list[_lane.Slot]]:
    native = _lane.Exec(serial=True, alone=lambda tid: False, wake=lambda tid: None,
                        start=lambda tid: None, exit_mark="x")
    slots = [_lane.Slot(tid=tid) for tid in range(n)]
    for s in slots:
        native.add(s)
    return native, slots


def _expected_active(slots: list[_lane.Slot]) -> list[int]:
    return [s.tid for s in slots
            if s.state != FINISHED and not (s.state == PARKED and s.blocked in (_lane.BLOCKED, _lane.TIMED))]


def test_new_threads_are_active_and_live() -> None:
    native, slots = _exec(5)
    assert native.active() == [0, 1, 2, 3, 4]
    assert (native.nlive, native.nparked, native.ntimed) == (5, 0, 0)


def test_blocked_and_timed_threads_leave_the_active_set_and_come_back_when_woken() -> None:
    native, slots = _exec(4)
    slots[1].state = PARKED
    slots[1].blocked = _lane.BLOCKED
    slots[2].state = PARKED
    slots[2].blocked = _lane.TIMED
    assert native.active() == [0, 3]
    assert (native.nparked, native.ntimed) == (2, 1)
    slots[2].blocked = _lane.WOKEN  # a notify released it: the next step looks at it
    assert native.active() == [0, 2, 3]
    assert native.ntimed == 0
    slots[1].state = RUNNABLE
    slots[1].blocked = 0
    assert native.active() == [0, 1, 2, 3]
    slots[0].state = FINISHED
    assert native.active() == [1, 2, 3]
    assert native.nlive == 3


def test_a_parked_thread_on_another_kind_of_wait_stays_active() -> None:
    native, slots = _exec(2)
    slots[1].state = PARKED  # e.g. a host object's wait: Python must look at it
    assert native.active() == [0, 1]
    assert native.nparked == 1


def test_active_set_and_counts_stay_exact_through_random_state_changes() -> None:
    rng = random.Random(7)
    native, slots = _exec(200)
    for _ in range(20_000):
        s = rng.choice(slots)
        if rng.random() < 0.5:
            s.state = rng.choice((RUNNABLE, PARKED, FINISHED, NEW))
        else:
            s.blocked = rng.choice((0, _lane.BLOCKED, _lane.WOKEN, _lane.TIMED))
    assert native.active() == _expected_active(slots)
    assert native.nlive == sum(s.state != FINISHED for s in slots)
    assert native.nparked == sum(s.state == PARKED for s in slots)
    assert native.ntimed == sum(s.state == PARKED and s.blocked == _lane.TIMED for s in slots)


def test_futex_queues_are_fifo_per_address_across_many_addresses() -> None:
    native, slots = _exec(300)
    for s in slots:
        s.state = PARKED
        s.blocked = _lane.BLOCKED
        native.futex_enqueue(s, 4 * (s.tid % 97))  # enough addresses to grow the hash table
    assert native.futex_waiting() == 300
    assert native.nactive == 0
    for addr_index in range(97):
        woken = native.futex_wake(4 * addr_index, 1 << 30)
        assert [s.tid for s in woken] == [t for t in range(300) if t % 97 == addr_index]
        assert all(s.woken and s.blocked == _lane.WOKEN for s in woken)
    assert native.futex_waiting() == 0
    assert native.active() == list(range(300))  # every woken waiter is looked at again


def test_a_notify_releases_a_timed_waiter_and_a_cancelled_waiter_leaves_its_queue() -> None:
    native, slots = _exec(3)
    for s in slots:
        s.state = PARKED
        s.blocked = _lane.TIMED
        native.futex_enqueue(s, 64)
    assert native.futex_cancel(slots[0])
    assert [s.tid for s in native.futex_wake(64, 1)] == [1]
    assert slots[1].blocked == _lane.WOKEN and slots[2].blocked == _lane.TIMED
    assert native.futex_waiting() == 1
    assert not native.futex_cancel(slots[1])  # already woken
