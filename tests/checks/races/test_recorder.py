"""The recorder between the pass's reports and the detector, driven by hand (no wasm).

What the guest's reports and host lock events mean: a spawn/start pair and a host
lock's release/acquire order accesses; an atomic site synchronizes on its
effective address; a report naming no site traps the thread.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from pytest_wasmconc.checks.races import AccessSite, RaceInstrumentation, SiteKind
from pytest_wasmconc.checks.races.recorder import Recorder
from pytest_wasmconc.host import Lock, LockEvent
from pytest_wasmconc.runtime import RunSettings
from pytest_wasmconc.runtime.hostapi import GuestTrap

KEY = "races:test"
KINDS = [SiteKind.WRITE, SiteKind.READ, SiteKind.RELEASE, SiteKind.ACQUIRE, SiteKind.SPAWN, SiteKind.START]
W, R, REL, ACQ, SPAWN, START = range(6)


def recorder(solo: bool = False) -> Recorder:
    sites = [AccessSite(i, k, 4, 8 if k in (SiteKind.RELEASE, SiteKind.ACQUIRE) else 0, 5, f"f{i}", 0x10 * i, "op")
             for i, k in enumerate(KINDS)]
    program: Any = SimpleNamespace(name="fake.wasm", pass_results={KEY: RaceInstrumentation(sites=sites)})
    rec = Recorder(KEY, program, RunSettings(), 1)
    rec.detector.solo = solo  # these scripts have threads that no spawn made
    return rec


class Call:
    def __init__(self, tid: int) -> None:
        self.thread_id = tid


def report(rec: Recorder, tid: int, addr: int, site: int) -> None:
    access = next(f for f in rec.host_functions() if f.name == "access")
    access.impl(Call(tid), addr, site)


def test_unordered_write_and_read_from_two_threads_are_one_race() -> None:
    rec = recorder()
    report(rec, 1, 0x100, W)
    report(rec, 2, 0x100, R)
    (race,) = rec.races
    assert (race.previous.tid, race.previous.site, race.current.tid, race.current.site) == (1, W, 2, R)


def test_a_spawn_orders_the_parents_earlier_accesses_before_the_started_thread() -> None:
    rec = recorder()
    report(rec, 0, 0x100, W)
    report(rec, 0, 0x5000, SPAWN)  # wasi.thread-spawn(start_arg=0x5000)
    report(rec, 7, 0x5000, START)  # wasi_thread_start(7, 0x5000)
    report(rec, 7, 0x100, R)
    assert rec.races == []


def test_a_start_argument_hands_over_the_parents_clock_once() -> None:
    rec = recorder()
    report(rec, 0, 0x5000, SPAWN)
    report(rec, 1, 0x5000, START)
    report(rec, 0, 0x100, W)  # after the spawn: unordered with thread 2 even if it reuses the argument
    report(rec, 2, 0x5000, START)
    report(rec, 2, 0x100, R)
    assert len(rec.races) == 1


def test_atomic_sites_synchronize_on_the_address_plus_their_offset() -> None:
    rec = recorder()
    report(rec, 1, 0x100, W)
    report(rec, 1, 0x200, REL)  # release of 0x208 (the site's memarg offset is 8)
    report(rec, 2, 0x200, ACQ)
    report(rec, 2, 0x100, R)
    assert rec.races == []
    report(rec, 3, 0x300, ACQ)  # another address: no order with thread 1
    report(rec, 3, 0x100, W)
    assert sorted((r.previous.tid, r.current.tid) for r in rec.races) == [(1, 3), (2, 3)]


@pytest.mark.parametrize("ordered", [True, False])
def test_a_host_lock_released_by_one_thread_and_acquired_by_another_orders_them(ordered: bool) -> None:
    rec = recorder()
    lock = Lock("db")
    report(rec, 1, 0x100, W)
    if ordered:
        rec.on_event(Call(1), LockEvent("released", lock))  # type: ignore[arg-type]
        rec.on_event(Call(2), LockEvent("acquired", lock))  # type: ignore[arg-type]
    report(rec, 2, 0x100, R)
    assert (rec.races == []) is ordered


def test_the_main_threads_accesses_count_only_from_its_first_spawn_on() -> None:
    rec = recorder(solo=True)
    report(rec, 0, 0x100, W)  # start-up: one thread, nothing recorded
    assert rec.detector.shadow == {}
    report(rec, 0, 0x5000, SPAWN)
    report(rec, 0, 0x100, W)
    report(rec, 1, 0x5000, START)
    report(rec, 1, 0x100, R)
    assert len(rec.races) == 1


def test_a_bulk_memory_range_races_with_an_access_anywhere_inside_it() -> None:
    rec = recorder()
    fill = next(f for f in rec.host_functions() if f.name == "range")
    fill.impl(Call(1), 0x100, 64, W)  # memory.fill of [0x100, 0x140)
    report(rec, 2, 0x13C, R)
    report(rec, 2, 0x140, R)  # just past it: no race
    (race,) = rec.races
    assert (race.previous.addr, race.previous.size, race.current.addr) == (0x100, 64, 0x13C)


def test_a_report_with_an_unknown_site_traps_the_thread() -> None:
    rec = recorder()
    with pytest.raises(GuestTrap, match="unknown site 99"):
        report(rec, 1, 0x100, 99)
