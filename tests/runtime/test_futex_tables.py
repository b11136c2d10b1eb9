"""Both futex tables (Python, and the native lane's) keep the same order and answers."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_wasmconc.runtime.lane import _lane
from pytest_wasmconc.runtime.lane.futex import FutexTable, NativeFutexTable


class _Thread:
    def __init__(self, tid: int) -> None:
        self.tid = tid
        self.slot = _lane.Slot(tid=tid)


def _tables() -> list[tuple[Any, list[_Thread]]]:
    out = []
    for kind in ("python", "native"):
        threads = [_Thread(tid) for tid in range(5)]
        if kind == "python":
            out.append((FutexTable(), threads))
        else:
            native = _lane.Exec(serial=True, alone=lambda tid: False, wake=lambda tid: None,
                                start=lambda tid: None, exit_mark="x")
            for t in threads:
                native.add(t.slot)
            out.append((NativeFutexTable(native), threads))
    return out


def _tid(table: Any, waiter: Any, threads: list[_Thread]) -> int:
    thread = getattr(waiter, "thread", None)
    return thread.tid if thread is not None else next(t.tid for t in threads if t.slot is waiter)


@pytest.mark.parametrize("table,threads", _tables(), ids=["python", "native"])
def test_notify_wakes_the_oldest_waiters_of_its_address_only(table: Any, threads: list[_Thread]) -> None:
    waiters = [table.enqueue(threads[i], addr) for i, addr in ((0, 64), (1, 128), (2, 64), (3, 64))]
    assert table.waiting() == 4
    woken = table.wake(64, 2)
    assert [_tid(table, w, threads) for w in woken] == [0, 2]
    assert all(w.woken for w in woken) and not waiters[1].woken and not waiters[3].woken
    assert table.waiting() == 2
    assert [_tid(table, w, threads) for w in table.wake(64, 10)] == [3]
    assert table.wake(64, 1) == []


@pytest.mark.parametrize("table,threads", _tables(), ids=["python", "native"])
def test_a_cancelled_waiter_is_not_woken_and_a_woken_one_cannot_be_cancelled(table: Any,
                                                                             threads: list[_Thread]) -> None:
    first = table.enqueue(threads[0], 8)
    second = table.enqueue(threads[1], 8)
    assert table.cancel(first)
    assert not table.cancel(first)  # no longer queued
    assert [_tid(table, w, threads) for w in table.wake(8, 5)] == [1]
    assert not table.cancel(second)  # a notify won the race
    assert table.waiting() == 0


@pytest.mark.parametrize("table,threads", _tables(), ids=["python", "native"])
def test_waking_a_blocked_waiter_marks_its_slot_woken(table: Any, threads: list[_Thread]) -> None:
    table.enqueue(threads[0], 4)
    threads[0].slot.blocked = _lane.BLOCKED
    table.enqueue(threads[1], 4)  # a waiter with a timeout: not blocked, stays unmarked
    table.wake(4, 2)
    assert (threads[0].slot.blocked, threads[1].slot.blocked) == (_lane.WOKEN, 0)
