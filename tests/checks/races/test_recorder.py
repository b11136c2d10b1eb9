"""The recorder between the pass's reports and the detector, driven by hand (no wasm).

What the guest's reports and host lock events mean: a spawn/start pair and a host
lock's release/acquire order accesses; an atomic site synchronizes on its
effective address; a report naming no site traps the thread. Each test runs with
the Python recorder and with the native one (its reports made as the C callbacks
make them, `Detector.report`).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from pytest_wasmconc.checks.races import AccessSite, RaceInstrumentation, SiteKind
from pytest_wasmconc.checks.races.detector import Race
from pytest_wasmconc.checks.races.native import NativeRecorder
from pytest_wasmconc.checks.races.recorder import Probe, Recorder
from pytest_wasmconc.host import Lock, LockEvent
from pytest_wasmconc.runtime import RunSettings
from pytest_wasmconc.runtime.hostapi import GuestTrap

KEY = "races:test"
KINDS = [SiteKind.WRITE, SiteKind.READ, SiteKind.RELEASE, SiteKind.ACQUIRE, SiteKind.SPAWN, SiteKind.START]
W, R, REL, ACQ, SPAWN, START = range(6)


@pytest.fixture(params=["python", "native"])
def flavour(request: pytest.FixtureRequest) -> type[Recorder]:
    return Recorder if request.param == "python" else NativeRecorder


def recorder(kind: type[Recorder], solo: bool = False) -> Recorder:
    sites = [AccessSite(i, k, 4, 8 if k in (SiteKind.RELEASE, SiteKind.ACQUIRE) else 0, 5, f"f{i}", 0x10 * i, "op")
             for i, k in enumerate(KINDS)]
    program: Any = SimpleNamespace(name="fake.wasm", pass_results={KEY: RaceInstrumentation(sites=sites)})
    rec = kind(KEY, program, RunSettings(), 1)
    if not solo:
        rec.detector.end_solo()  # these scripts have threads that no spawn made
    return rec


class Memory:
    def size(self) -> int:
        return 1 << 16


class Call:
    def __init__(self, tid: int) -> None:
        self.thread_id = tid
        self.memory = Memory()


def report(rec: Recorder, tid: int, addr: int, site: int, length: int | None = None) -> None:
    if isinstance(rec, NativeRecorder):
        try:
            rec.detector.report(tid, addr, site, length, memory_size=Memory().size())
        except ValueError as exc:  # what the callback turns into a trap
            raise GuestTrap(str(exc)) from None
    elif length is None:
        next(f for f in rec.host_functions() if f.name == "access").impl(Call(tid), addr, site)
    else:
        next(f for f in rec.host_functions() if f.name == "range").impl(Call(tid), addr, length, site)


def races(rec: Recorder) -> list[Race]:
    if isinstance(rec, NativeRecorder):
        rec.collect()
    return rec.races


def test_unordered_write_and_read_from_two_threads_are_one_race(flavour: type[Recorder]) -> None:
    rec = recorder(flavour)
    report(rec, 1, 0x100, W)
    report(rec, 2, 0x100, R)
    (race,) = races(rec)
    assert (race.previous.tid, race.previous.site, race.current.tid, race.current.site) == (1, W, 2, R)


def test_a_spawn_orders_the_parents_earlier_accesses_before_the_started_thread(flavour: type[Recorder]) -> None:
    rec = recorder(flavour)
    report(rec, 0, 0x100, W)
    report(rec, 0, 0x5000, SPAWN)  # wasi.thread-spawn(start_arg=0x5000)
    report(rec, 7, 0x5000, START)  # wasi_thread_start(7, 0x5000)
    report(rec, 7, 0x100, R)
    assert races(rec) == []


def test_a_start_argument_hands_over_the_parents_clock_once(flavour: type[Recorder]) -> None:
    rec = recorder(flavour)
    report(rec, 0, 0x5000, SPAWN)
    report(rec, 1, 0x5000, START)
    report(rec, 0, 0x100, W)  # after the spawn: unordered with thread 2 even if it reuses the argument
    report(rec, 2, 0x5000, START)
    report(rec, 2, 0x100, R)
    assert len(races(rec)) == 1


def test_atomic_sites_synchronize_on_the_address_plus_their_offset(flavour: type[Recorder]) -> None:
    rec = recorder(flavour)
    report(rec, 1, 0x100, W)
    report(rec, 1, 0x200, REL)  # release of 0x208 (the site's memarg offset is 8)
    report(rec, 2, 0x200, ACQ)
    report(rec, 2, 0x100, R)
    assert races(rec) == []
    report(rec, 3, 0x300, ACQ)  # another address: no order with thread 1
    report(rec, 3, 0x100, W)
    assert sorted((r.previous.tid, r.current.tid) for r in races(rec)) == [(1, 3), (2, 3)]


@pytest.mark.parametrize("ordered", [True, False])
def test_a_host_lock_released_by_one_thread_and_acquired_by_another_orders_them(flavour: type[Recorder],
                                                                                 ordered: bool) -> None:
    rec = recorder(flavour)
    lock = Lock("db")
    report(rec, 1, 0x100, W)
    if ordered:
        rec.on_event(Call(1), LockEvent("released", lock))  # type: ignore[arg-type]
        rec.on_event(Call(2), LockEvent("acquired", lock))  # type: ignore[arg-type]
    report(rec, 2, 0x100, R)
    assert (races(rec) == []) is ordered


def test_the_main_threads_accesses_count_only_from_its_first_spawn_on(flavour: type[Recorder]) -> None:
    rec = recorder(flavour, solo=True)
    report(rec, 0, 0x100, W)  # start-up: one thread, nothing recorded
    assert rec.detector.stats()["shadow_words"] == 0
    report(rec, 0, 0x5000, SPAWN)
    report(rec, 0, 0x100, W)
    report(rec, 1, 0x5000, START)
    report(rec, 1, 0x100, R)
    assert len(races(rec)) == 1


def test_a_bulk_memory_range_races_with_an_access_anywhere_inside_it(flavour: type[Recorder]) -> None:
    rec = recorder(flavour)
    report(rec, 1, 0x100, W, length=64)  # memory.fill of [0x100, 0x140)
    report(rec, 2, 0x13C, R)
    report(rec, 2, 0x140, R)  # just past it: no race
    (race,) = races(rec)
    assert (race.previous.addr, race.previous.size, race.current.addr) == (0x100, 64, 0x13C)


def test_a_report_with_an_unknown_site_traps_the_thread(flavour: type[Recorder]) -> None:
    rec = recorder(flavour)
    with pytest.raises(GuestTrap, match="unknown site 99"):
        report(rec, 1, 0x100, 99)


def test_accesses_and_atomics_at_the_very_end_of_32_bit_memory_are_checked_like_any_other(
        flavour: type[Recorder]) -> None:
    rec = recorder(flavour)
    report(rec, 1, 0xFFFF_FFFC, W)
    report(rec, 1, 0xFFFF_FFFC, REL)  # release of 0xFFFF_FFFC + 8, past 2**32 (the access would trap)
    report(rec, 2, 0xFFFF_FFFC, ACQ)
    report(rec, 2, 0xFFFF_FFFC, R)  # ordered by the release/acquire pair
    report(rec, 3, 0xFFFF_FFFC, R)  # not ordered
    (race,) = races(rec)
    assert (race.previous.tid, race.current.tid, race.current.addr) == (1, 3, 0xFFFF_FFFC)


def test_a_range_of_no_bytes_or_past_the_memory_records_nothing_but_is_numbered(flavour: type[Recorder]) -> None:
    rec = recorder(flavour)
    report(rec, 1, 0x100, W, length=0)  # seq 1: memory.fill of nothing
    report(rec, 1, 0xFFF0, W, length=0x20)  # seq 2: past the 64 KiB memory: traps, touches nothing
    report(rec, 2, 0xFFF0, R)
    report(rec, 2, 0x100, R)
    assert races(rec) == []
    assert rec.detector.stats()["accesses"] == 2
    report(rec, 1, 0x100, W)  # seq 3
    (race,) = races(rec)
    assert (race.current.tid, race.current.seq) == (1, 3)


@pytest.mark.parametrize("site, matched", [(R, True), (W, False)])
def test_a_probe_stops_the_thread_at_its_numbered_report_and_checks_nothing(flavour: type[Recorder], site: int,
                                                                             matched: bool) -> None:
    sites = [AccessSite(i, k, 4, 0, 5, f"f{i}", 0x10 * i, "op") for i, k in enumerate(KINDS)]
    program: Any = SimpleNamespace(name="fake.wasm", pass_results={KEY: RaceInstrumentation(sites=sites)})
    rec = flavour(KEY, program, RunSettings(), 0, probe=Probe(tid=2, seq=2, site=site))
    rec.detector.end_solo()
    report(rec, 1, 0x100, W)
    report(rec, 2, 0x100, W)  # thread 2's report 1: a race, but a probe checks nothing
    assert rec.probe_result is None
    with pytest.raises(GuestTrap, match="stopped here to take the backtrace"):
        report(rec, 2, 0x100, R)  # thread 2's report 2: the probe's
    assert rec.probe_result == (matched, "f1 (@0x10)")
    assert races(rec) == []
