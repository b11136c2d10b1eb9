"""Race candidates (detector.py, "Candidates"): conflicting accesses that thread creation does not order.

Race direction steers by them when no race showed (directed.py); they are never reported. Each
case runs on the Python reference and on the C detector alike.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from pytest_wasmconc.checks.races import RaceCheck
from pytest_wasmconc.checks.races import check as check_module
from pytest_wasmconc.checks.races._native import Detector as NativeDetector
from pytest_wasmconc.checks.races.detector import Detector
from pytest_wasmconc.runtime import GuestIO, Runner, RunSettings

KINDS = [pytest.param(Detector, id="python"), pytest.param(NativeDetector, id="native")]
X = 0x100


def spawn(d: Any, parent: int, child: int, start_arg: int) -> None:
    """A spawn as the race pass reports it: the parent releases the start argument, the child takes it."""
    d.release(parent, ("spawn", start_arg))
    d.handoff(child, ("spawn", start_arg))


@pytest.mark.parametrize("kind", KINDS)
def test_a_thread_that_exited_before_its_sibling_was_made_is_ordered_yet_a_candidate(kind: Any) -> None:
    # check_act_lazy_init's schedule where the first thread runs to its end before main makes the
    # second: libc's thread-list lock (here the lock word at 0x300) orders the two accesses, so no race shows.
    d = kind(candidates=True)
    spawn(d, 0, 1, 0x5000)
    d.check(1, X, 4, True, 10, 1)  # thread 1 writes the flag
    d.release(1, 0x300)  # ... exits through the thread list's lock
    d.acquire(0, 0x300)  # main takes the lock to make the next thread
    spawn(d, 0, 2, 0x5000)
    assert d.check(2, X, 4, False, 11, 1) is None  # ordered: no race
    assert d.candidate_pairs() == [(10, 11)]


@pytest.mark.parametrize("kind", KINDS)
def test_what_a_creator_did_before_creating_a_thread_is_no_candidate_even_two_generations_down(kind: Any) -> None:
    d = kind(candidates=True)
    d.end_solo()
    d.check(0, X, 4, True, 10, 1)  # main fills in the data
    spawn(d, 0, 1, 0x5000)
    spawn(d, 1, 2, 0x6000)  # thread 1 makes thread 2
    assert d.check(1, X, 4, False, 11, 1) is None
    assert d.check(2, X, 4, False, 12, 1) is None
    d.check(0, X + 8, 4, True, 13, 2)  # main, after the spawn: thread 2's read of it is a race and a candidate
    assert d.check(2, X + 8, 4, False, 14, 2)
    assert d.candidate_pairs() == [(13, 14)]


@pytest.mark.parametrize("kind", KINDS)
def test_reads_by_two_threads_are_no_candidate_and_each_pair_is_noted_once(kind: Any) -> None:
    d = kind(candidates=True)
    spawn(d, 0, 1, 0x5000)
    spawn(d, 0, 2, 0x5004)
    d.check(1, X, 4, False, 10, 1)
    d.check(2, X, 4, False, 11, 1)
    assert d.candidate_pairs() == []
    for seq in (2, 3):
        d.release(1, 0x308)
        d.acquire(2, 0x308)
        d.check(2, X, 4, True, 12, seq)  # a write after thread 1's read (ordered by the lock word at 0x308 each time)
    assert d.candidate_pairs() == [(10, 12)]


@pytest.mark.parametrize("kind", KINDS)
def test_without_candidates_nothing_is_noted(kind: Any) -> None:
    d = kind()
    spawn(d, 0, 1, 0x5000)
    d.check(1, X, 4, True, 10, 1)
    d.release(1, 0x300)
    d.acquire(0, 0x300)
    spawn(d, 0, 2, 0x5000)
    d.check(2, X, 4, False, 11, 1)
    assert d.candidate_pairs() == []


def test_the_allocators_own_accesses_never_steer_as_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every thread's free touches dlmalloc's bins under its one lock: candidates in any threaded
    # program that allocates, and never the program's bug (tables.STEERING_EXCLUSIONS).
    guest = Path(__file__).resolve().parents[3] / "guests" / "libc" / "detached_threads.wasm"

    def candidate_functions() -> set[str | None]:
        check = RaceCheck(backtraces=False, candidates=True)
        runner = Runner(RunSettings(seed=5, policy="pct"))
        runner.run(guest, GuestIO(), extensions=[check])
        info = runner.load(guest, extensions=[check]).pass_results[check.pass_key]
        by_offset = {s.at: s.func for s in info.sites}  # type: ignore[attr-defined]
        return {by_offset[at] for at in check.candidate_sites}

    steering = candidate_functions()
    assert steering and not steering & {"dlmalloc", "dlfree", "malloc", "free"}, steering
    monkeypatch.setattr(check_module, "_STEERING_EXCLUDED", re.compile("(?!)"))  # no exclusion
    assert candidate_functions() & {"dlmalloc", "dlfree"}
