"""The native detector (checks/races/_native_c) against the Python reference (detector.py, recorder.py).

The same events go through both and must give the same races, statistics and
clocks: scripted random sequences, and the sequences real guests make (a
recorder that feeds every event to both detectors and notes any difference).
A whole check run natively must write the same report as the Python one.
Beside equivalence: the tables grow with the guest (thousands of threads,
addresses over the whole 32-bit space, a location read by hundreds of
threads), and os mode's concurrent reports.
"""

from __future__ import annotations

import random
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import pytest

from pytest_wasmconc.checks.races import RaceCheck
from pytest_wasmconc.checks.races._native import Detector as NativeDetector
from pytest_wasmconc.checks.races.detector import Detector
from pytest_wasmconc.checks.races.recorder import Recorder
from pytest_wasmconc.runtime import GuestIO, Preempt, Runner, RunSettings, Status

REPO = Path(__file__).resolve().parents[3]
RACY = REPO / "guests" / "racecheck" / "racy.wasm"
SYNCED = REPO / "guests" / "racecheck" / "synced.wasm"
KERNELS = REPO / "guests" / "racecheck" / "kernels.wasm"
BARRIER = REPO / "guests" / "libc" / "barrier_threads.wasm"
RACES = REPO / "guests" / "races"

Event = tuple[Any, ...]


# -- scripted sequences ------------------------------------------------------------------------


def script(seed: int, length: int, threads: int = 5) -> list[Event]:
    """A random event sequence dense in conflicts: few locations, mixed sizes, sync on few keys."""
    rng = random.Random(seed)
    keys: list[Hashable] = [0x100, 0x108, 0x2000, ("host", 7), ("spawn", 0x5000)]
    bases = [0x100, 0x108, 0x1000, 0x1ffc]
    seqs = [0] * threads
    out: list[Event] = []
    for _ in range(length):
        tid = rng.randrange(threads)
        roll = rng.random()
        if roll < 0.7:
            seqs[tid] += 1
            size = rng.choice([1, 2, 4, 8, 16, rng.randrange(1, 40)])
            addr = rng.choice(bases) + rng.randrange(-4, 24)
            out.append(("check", tid, addr, size, rng.random() < 0.5, rng.randrange(30), seqs[tid]))
        elif roll < 0.8:
            out.append(("acquire", tid, rng.choice(keys)))
        elif roll < 0.9:
            out.append(("release", tid, rng.choice(keys)))
        elif roll < 0.95:
            out.append(("handoff", tid, rng.choice(keys)))
        elif roll < 0.98:
            out.append(("fork", tid, rng.randrange(threads)))
        else:
            out.append(("end_solo",))
    return out


def play(detector: Any, events: list[Event]) -> list[Any]:
    """What the detector answers to each event, then its statistics and every thread's clock."""
    answers = [getattr(detector, name)(*args) for name, *args in events]
    stats = {**detector.stats(), "site_hits": detector.site_hits()}
    clocks = {tid: detector.clock(tid) for tid in sorted({e[1] for e in events if len(e) > 1})}
    return [*answers, stats, clocks]


@pytest.mark.parametrize("solo", [False, True])
@pytest.mark.parametrize("seed", range(12))
def test_random_event_sequences_give_the_same_races_stats_and_clocks(seed: int, solo: bool) -> None:
    events = script(seed, 3000)
    expected = play(Detector(solo=solo), events)
    assert play(NativeDetector(solo=solo), events) == expected
    assert any(answer for answer in expected[:-2]), "the script should contain races"


@pytest.mark.parametrize("seed", range(8))
def test_random_event_sequences_give_the_same_candidates(seed: int) -> None:
    events = script(seed, 3000)
    python, native = Detector(candidates=True), NativeDetector(candidates=True)
    expected = play(python, events)
    assert play(native, events) == expected
    assert native.candidate_pairs() == python.candidate_pairs()
    assert python.candidate_pairs(), "the script should contain candidates"
    # Noting candidates changes no answer: the same races, statistics and clocks as without.
    assert expected == play(Detector(), events)


def test_a_handoff_forgets_the_joins_made_into_its_key() -> None:
    # Thread 1 releases K (a full join), K is handed off (forgotten), thread 2 makes K again
    # from its own clock; thread 1's next release must join its whole clock again, or thread 3,
    # acquiring K, would miss that thread 1's write came before.
    for detector in (Detector(), NativeDetector()):
        detector.check(1, 0x100, 4, True, 1, 1)
        detector.release(1, ("spawn", 9))
        detector.handoff(4, ("spawn", 9))
        detector.release(2, ("spawn", 9))
        detector.release(1, ("spawn", 9))
        detector.acquire(3, ("spawn", 9))
        assert detector.check(3, 0x100, 4, True, 2, 1) is None, type(detector)


def test_thousands_of_threads_and_addresses_across_the_32_bit_space_grow_the_tables() -> None:
    events: list[Event] = []
    for tid in range(1, 3001):
        events.append(("fork", 0, tid))
        events.append(("check", tid, (tid * 0x15_5555) & 0xFFFF_FFF8, 8, True, 1, 1))
    # One location read by 300 unordered threads (a read vector of 300), then written by another.
    events += [("check", tid, 0x40, 4, False, 2, 2) for tid in range(1, 301)]
    events.append(("check", 3000, 0x40, 4, True, 3, 2))
    expected = play(Detector(), events)
    native = play(NativeDetector(), events)
    assert native == expected
    (last_races,) = [a for a in expected[:-2] if a]
    assert len(last_races) == 300 and {prev[0] for prev, _ in last_races} == set(range(1, 301))
    assert expected[-2]["threads"] == 3001 and expected[-2]["shadow_words"] == 3001


@pytest.mark.parametrize("size, addr", [(0, 0x100), (8, (1 << 64) - 4), (2, (1 << 64) - 1)])
def test_accesses_of_no_bytes_or_past_two_to_the_64_are_not_recorded(size: int, addr: int) -> None:
    for detector in (Detector(), NativeDetector()):
        assert detector.check(1, addr, size, True, 0, 1) is None
        assert detector.check(2, addr, size, True, 0, 1) is None
        assert detector.stats()["accesses"] == 0


def test_the_last_byte_below_two_to_the_64_races_like_any_other() -> None:
    for detector in (Detector(), NativeDetector()):
        assert detector.check(1, (1 << 64) - 1, 1, True, 0, 1) is None
        races = detector.check(2, (1 << 64) - 1, 1, False, 1, 1)
        assert races and races[0][0][:2] == (1, (1 << 64) - 1)


def test_the_native_detector_rejects_keys_and_threads_it_cannot_represent() -> None:
    d = NativeDetector()
    with pytest.raises(TypeError, match="sync key"):
        d.acquire(1, ("lock", 3))
    with pytest.raises(ValueError, match="out of range"):
        d.check(1 << 31, 0, 4, True, 0, 1)
    with pytest.raises(ValueError, match="16 bytes per site"):
        d.set_sites(b"x" * 15)


# -- the sequences real guests make ---------------------------------------------------------------


class Tee:
    """Both detectors behind one: every call goes to each, and any difference is noted."""

    def __init__(self) -> None:
        self.python = Detector(solo=True)
        self.native = NativeDetector(solo=True)
        self.differences: list[str] = []
        self.calls = 0

    def _both(self, name: str, *args: Any) -> Any:
        self.calls += 1
        a = getattr(self.python, name)(*args)
        b = getattr(self.native, name)(*args)
        if a != b and len(self.differences) < 5:
            self.differences.append(f"{name}{args}: python {a!r}, native {b!r}")
        return a

    def check(self, *args: Any) -> Any:
        return self._both("check", *args)

    def acquire(self, tid: int, key: Hashable) -> None:
        self._both("acquire", tid, key)

    def release(self, tid: int, key: Hashable) -> None:
        self._both("release", tid, key)

    def handoff(self, tid: int, key: Hashable) -> None:
        self._both("handoff", tid, key)

    def end_solo(self) -> None:
        self._both("end_solo")

    def stats(self) -> dict[str, Any]:
        return self._both("stats")  # type: ignore[no-any-return]

    def site_hits(self) -> dict[int, int]:
        return self._both("site_hits")  # type: ignore[no-any-return]


class TeeCheck(RaceCheck):
    def __init__(self) -> None:
        super().__init__(native=False, backtraces=False)
        self.tees: list[Tee] = []

    def attach(self, program: Any, settings: RunSettings) -> Recorder:
        tees = self.tees

        class TeeRecorder(Recorder):
            def _new_detector(self) -> Any:
                tees.append(Tee())
                return tees[-1]

        return TeeRecorder(self.pass_key, program, settings, 1, is_new=self._is_new, finished=self._finished)


GUEST_RUNS = [
    (RACY, ["counter"]), (RACY, ["flag"]), (RACY, ["bytes"]),
    *((SYNCED, [mode]) for mode in ("mutex", "rwlock", "cond", "sem", "barrier", "detached")),
    (RACES / "lost_update_refcount.wasm", []), (RACES / "wrong_lock_bank.wasm", []),
    (RACES / "check_act_lazy_init_fixed.wasm", []), (RACES / "order_publish.wasm", []),
    (KERNELS, ["matmul", "12", "3"]), (BARRIER, ["40"]),
]


@pytest.mark.parametrize("preempt", ["fuel", "os"])
@pytest.mark.parametrize("guest, args", GUEST_RUNS, ids=lambda v: v.stem if isinstance(v, Path) else " ".join(v))
def test_a_real_guests_events_give_the_same_answers_from_both_detectors(guest: Path, args: list[str],
                                                                        preempt: str) -> None:
    check = TeeCheck()
    outcome = Runner(RunSettings(preempt=Preempt(preempt), seed=3)).run(guest, GuestIO(args=args),
                                                                       extensions=[check])
    assert outcome.status is Status.EXITED, outcome.report
    (tee,) = check.tees
    assert tee.site_hits()  # the accesses each site made: the same from both (race direction's counts)
    assert tee.differences == []
    assert tee.calls > 50


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("guest, args", [(RACY, ["counter"]), (RACY, ["flag"]), (RACY, ["bytes"]),
                                         (RACES / "lost_update_pair.wasm", []),
                                         (RACES / "check_act_claim.wasm", [])],
                         ids=lambda v: v.stem if isinstance(v, Path) else " ".join(v))
def test_the_native_check_writes_the_same_report_as_the_python_one(guest: Path, args: list[str], seed: int) -> None:
    texts = []
    for native in (False, True):
        check = RaceCheck(native=native)
        outcome = Runner(RunSettings(preempt=Preempt.FUEL, seed=seed)).run(guest, GuestIO(args=args),
                                                                          extensions=[check])
        failure = check.inspect(outcome)
        texts.append(failure.message if failure else "")
    assert texts[1] == texts[0]
    if guest == RACY:  # a race in every schedule (the others: in most)
        assert "WARNING: data race" in texts[0]


# -- whole runs --------------------------------------------------------------------------------


@pytest.mark.parametrize("preempt", ["fuel", "os"])
def test_a_thousand_threads_at_a_barrier_report_no_race(preempt: str) -> None:
    check = RaceCheck()
    outcome = Runner(RunSettings(preempt=Preempt(preempt), seed=1)).run(BARRIER, GuestIO(args=["1000"]),
                                                                       extensions=[check])
    assert outcome.status is Status.EXITED and outcome.exit_code == 0, outcome.report
    assert check.inspect(outcome) is None
    assert check.executions == 1


def test_os_mode_threads_report_at_once_and_the_race_is_still_found() -> None:
    # 4 threads of the matmul kernel write disjoint rows (no race), reporting concurrently.
    check = RaceCheck()
    outcome = Runner(RunSettings(preempt=Preempt.OS)).run(KERNELS, GuestIO(args=["matmul", "40", "4"]),
                                                          extensions=[check])
    assert outcome.status is Status.EXITED and outcome.exit_code == 0, outcome.report
    assert check.inspect(outcome) is None
    racy = RaceCheck()
    outcome = Runner(RunSettings(preempt=Preempt.OS)).run(RACY, GuestIO(args=["counter"]), extensions=[racy])
    failure = racy.inspect(outcome)
    assert failure is not None and "add_one" in failure.message and "add_two" in failure.message


def test_the_check_keeps_the_shared_levels_preemptions() -> None:
    # Every visible access charges the preemption counter with or without the check's reports
    # in front of it: a round-robin schedule switches as often either way.
    settings = RunSettings(preempt=Preempt.FUEL, seed=1, policy="rr")
    runner = Runner(settings)
    steps = []
    for extensions in ([], [RaceCheck()]):
        outcome = runner.run(KERNELS, GuestIO(args=["dot", "4000", "2", "2"]), extensions=extensions)
        assert outcome.status is Status.EXITED and outcome.exit_code == 0
        steps.append(outcome.steps)
    assert steps[0] > 100
    assert steps[1] == steps[0]
