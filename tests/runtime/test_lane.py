"""The native lane (runtime/lane/_lane_c/) takes exactly the steps the Python driver takes.

Each guest runs twice per (policy, seed): with the lane, and with every step in
Python (lane.NATIVE off, the reference). Same decisions, same slices,
same step count, same output, same report: a seed names one schedule either
way, and a token recorded with the lane replays without it.
"""

from __future__ import annotations

import platform
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_wasmconc.runtime import GuestIO, ModuleError, Preempt, Runner, RunSettings, Status
from pytest_wasmconc.runtime import lane as lane_package
from pytest_wasmconc.runtime.lane import _lane
from pytest_wasmconc.runtime.drivers import serial
from pytest_wasmconc.runtime.outcome import Outcome
from pytest_wasmconc.runtime.drivers import driving
from pytest_wasmconc.schedulers import PolicyConfig, RandomWalk, SwitchReason
from pytest_wasmconc.schedulers.base import Pause
from pytest_wasmconc.checks.races import RaceCheck
from pytest_wasmconc.schedulers.random_walk import STAY_WEIGHTS

GUESTS = Path(__file__).resolve().parents[2] / "guests"

# Core-module guests that need no user host functions, with the arguments that
# make them do something concurrent (dirs: the preopened data folder).
CORPUS: list[tuple[str, list[str]]] = [
    ("c/mutex_counter.wasm", ["10"]),
    ("c/lost_update.wasm", []),
    ("c/producer_consumer.wasm", ["50", "3"]),
    ("c/pthread_selftest.wasm", []),
    ("c/philosophers.wasm", []),
    ("c/lock_order.wasm", []),
    ("c/trylock_backoff.wasm", []),
    ("c/many_threads.wasm", []),
    ("c/many_writers.wasm", ["3", "4"]),
    ("c/worker_exit.wasm", []),
    ("c/fault_under_load.wasm", []),
    ("c/thread_file.wasm", []),
    ("zig/zig_threads.wasm", []),
    ("wat/deadlock_forever.wasm", []),
    ("wat/spin_forever.wasm", []),
    ("wat/wait_spin_forever.wasm", []),
    ("wat/lone_atomic_work.wasm", []),
    ("zig/zig_join_race.wasm", []),
    ("wat/trap_worker_main_waiting.wasm", []),
    ("wat/exit_worker_procexit_main_busy.wasm", []),
    ("wat/own_memory_threads.wasm", []),
    ("wasi/clock_random.wasm", []),
    ("wasi/sleep10_threads.wasm", []),
    # real wasi-libc, a plain access to shared memory at every step: a switch every few accesses
    ("racecheck/kernels.wasm", ["dot", "2000", "1", "2"]),
]


class _CountingLane:
    """Wraps a lane to count the steps it took itself (so the comparison is not Python against Python)."""

    taken = 0

    def __init__(self, lane: Any) -> None:
        object.__setattr__(self, "_lane", lane)

    def run(self) -> int:
        before = self._lane.steps
        code = self._lane.run()
        _CountingLane.taken += self._lane.steps - before
        return code  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lane, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._lane, name, value)


@pytest.fixture
def lane_steps(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_CountingLane]]:
    make = serial._native_lane
    def counting(*args: Any, **kwargs: Any) -> tuple[Any, bool]:
        lane, native_policy = make(*args, **kwargs)
        return (lane and _CountingLane(lane)), native_policy

    monkeypatch.setattr(serial, "_native_lane", counting)
    _CountingLane.taken = 0
    yield _CountingLane


def _run(guest: str, args: list[str], settings: RunSettings, lane: bool, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    monkeypatch.setattr(lane_package, "NATIVE", lane)
    io = GuestIO(args=args, dirs=[(str(GUESTS / "data"), ".")])
    return Runner(settings).run(GUESTS / guest, io)


def _observable(o: Outcome) -> tuple[Any, ...]:
    return (o.status, o.exit_code, o.stdout_bytes, o.stderr_bytes, o.steps, o.decisions, o.slices, o.trap_thread,
            o.trap_message, o.report)


@pytest.mark.parametrize("guest,args", CORPUS, ids=[g for g, _ in CORPUS])
@pytest.mark.parametrize("policy", ["rr", "random", "pct"])  # pct: a Python policy the lane calls
def test_lane_and_python_driver_take_the_same_steps(guest: str, args: list[str], policy: str,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    lane_steps: type[_CountingLane]) -> None:
    for seed in (0, 1, 2):
        settings = RunSettings(preempt=Preempt.FUEL, policy=policy, seed=seed, max_steps=3_000, slice=500)
        try:
            reference = _run(guest, args, settings, False, monkeypatch)
        except ModuleError as exc:
            with pytest.raises(ModuleError, match=str(exc)[:40]):
                _run(guest, args, settings, True, monkeypatch)
            continue
        with_lane = _run(guest, args, settings, True, monkeypatch)
        assert _observable(with_lane) == _observable(reference), f"seed {seed}"
    # Only guests with a stretch where every thread is runnable give the lane steps;
    # the two-thread counters must.
    if guest in ("c/mutex_counter.wasm", "c/lost_update.wasm", "zig/zig_threads.wasm"):
        assert lane_steps.taken > 0


@pytest.mark.parametrize("guest,args", [("racecheck/kernels.wasm", ["dot", "2000", "1", "2"]),
                                        ("c/lost_update.wasm", []), ("c/mutex_counter.wasm", ["10"])])
def test_the_lane_takes_the_steps_of_pct_with_hot_accesses_python_takes(guest: str, args: list[str],
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         lane_steps: type[_CountingLane]) -> None:
    # The race-directed PCT of the default exploration: with hot sites, a step is a quantum end
    # with a choice and synchronization decisions are none (schedulers/pct.py), which the lane's
    # pct_pick tells apart by the reason. The hot sites: every plain access the race check counted.
    check = RaceCheck(count_sites=True)
    Runner(RunSettings(preempt=Preempt.FUEL, level="shared", seed=1)).run(
        GUESTS / guest, GuestIO(args=args, dirs=[(str(GUESTS / "data"), ".")]), extensions=[check])
    hot = tuple(sorted(check.site_hits))
    assert hot
    for seed in range(4):
        settings = RunSettings(preempt=Preempt.FUEL, policy="pct", level="shared", hot_sites=hot, seed=seed,
                               max_steps=20_000, pct_steps=30)
        reference = _run(guest, args, settings, False, monkeypatch)
        with_lane = _run(guest, args, settings, True, monkeypatch)
        assert _observable(with_lane) == _observable(reference), f"seed {seed}"
    assert lane_steps.taken > 0


def test_the_lane_draws_the_policies_random_numbers_in_c_on_cpython() -> None:
    # The comparisons above then check the C draws against Python's getrandbits.
    assert _lane.native_streams() is (platform.python_implementation() == "CPython")


def test_at_the_default_slice_the_lane_makes_the_schedules_python_makes(monkeypatch: pytest.MonkeyPatch,
                                                                     lane_steps: type[_CountingLane]) -> None:
    # Default slice and policy: slices drawn from up to 2 * 10000 (14-bit draws, many rejected),
    # the quantum scale mixed per seed, the virtual clock moved by every quantum.
    for seed in range(6):
        settings = RunSettings(preempt=Preempt.FUEL, seed=seed, max_steps=20_000)
        reference = _run("racecheck/kernels.wasm", ["matmul", "12", "2"], settings, False, monkeypatch)
        with_lane = _run("racecheck/kernels.wasm", ["matmul", "12", "2"], settings, True, monkeypatch)
        assert _observable(with_lane) == _observable(reference), f"seed {seed}"
    assert lane_steps.taken > 0


@pytest.mark.parametrize("weight", STAY_WEIGHTS)
def test_the_lane_keeps_the_current_thread_at_yield_points_as_python_does(weight: int,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         lane_steps: type[_CountingLane]) -> None:
    # Executions of each yield-point stickiness (random_walk.STAY_WEIGHTS) on guests whose threads
    # meet at mutexes and atomics: the lane draws the keep-or-choose numbers Python draws.
    seeds = [s for s in range(200) if RandomWalk(PolicyConfig(seed=s)).describe()["stay"] == weight][:3]
    for seed in seeds:
        for guest, args in (("c/mutex_counter.wasm", ["10"]), ("zig/zig_threads.wasm", []),
                            ("c/trylock_backoff.wasm", ["20"])):
            settings = RunSettings(preempt=Preempt.FUEL, policy="random", seed=seed, max_steps=20_000, slice=500)
            reference = _run(guest, args, settings, False, monkeypatch)
            with_lane = _run(guest, args, settings, True, monkeypatch)
            assert _observable(with_lane) == _observable(reference), f"{guest} seed {seed}"
    assert lane_steps.taken > 0


def test_the_lane_takes_most_steps_of_a_contended_counter(monkeypatch: pytest.MonkeyPatch,
                                                          lane_steps: type[_CountingLane]) -> None:
    o = _run("c/mutex_counter.wasm", ["10"], RunSettings(seed=5), True, monkeypatch)
    assert o.exit_code == 0, o.report
    assert lane_steps.taken > o.steps // 2, (lane_steps.taken, o.steps)


def test_a_schedule_recorded_with_the_lane_replays_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = _run("c/lost_update.wasm", [], RunSettings(seed=11, slice=300), True, monkeypatch)
    assert recorded.token
    monkeypatch.setattr(lane_package, "NATIVE", False)
    replayed = Runner(RunSettings()).replay(GUESTS / "c" / "lost_update.wasm", recorded.token,
                                            GuestIO())
    assert (replayed.stdout, replayed.decisions, replayed.steps) == (recorded.stdout, recorded.decisions,
                                                                     recorded.steps)


@pytest.mark.parametrize("policy", ["rr", "random"])
def test_epoch_mode_through_the_lane_runs_guests_to_their_end(policy: str, monkeypatch: pytest.MonkeyPatch,
                                                              lane_steps: type[_CountingLane]) -> None:
    o = _run("c/mutex_counter.wasm", ["20"], RunSettings(preempt=Preempt.EPOCH, policy=policy), True,
             monkeypatch)
    assert (o.status, o.exit_code, o.stdout) == (Status.EXITED, 0, "counter=40\n"), o.report
    assert lane_steps.taken > 0


def test_a_deadlock_found_inside_the_lane_reports_every_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    o = _run("wat/deadlock_forever.wasm", [], RunSettings(seed=3), True, monkeypatch)
    assert o.status is Status.DEADLOCK, o.report
    assert len(o.threads) >= 2 and all(t.frames for t in o.threads), o.report


def test_a_thread_spinning_inside_the_lane_is_stopped_with_its_backtrace(monkeypatch: pytest.MonkeyPatch,
                                                                        lane_steps: type[_CountingLane]) -> None:
    # The step budget runs out while the spinning threads preempt natively; the
    # report still gets each thread's wasm frames (the kill reaches a native yield).
    o = _run("wat/spin_forever.wasm", [], RunSettings(seed=1, max_steps=500), True, monkeypatch)
    assert o.status is Status.HANG, o.report
    assert lane_steps.taken > 400
    assert o.threads and all(t.frames for t in o.threads), o.report


class _WithoutNativePlan:
    """A policy wrapped so that it offers no native plan: every pick is Python's (the lane calls it)."""

    def __init__(self, policy: Any) -> None:
        self.policy = policy

    def __getattr__(self, name: str) -> Any:
        if name == "native_plan":
            raise AttributeError(name)
        return getattr(self.policy, name)


@pytest.mark.parametrize("lane", [False, True], ids=["python-loop", "lane-calls-the-policy"])
def test_sched_yield_gives_up_the_processor_where_an_atomic_offers_to(lane: bool,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # The reason a policy is asked with: GAVE_UP after sched_yield (a spinning thread asking for
    # another to run), YIELDED at the scheduling points of atomics; the random walk's stickiness
    # holds only at the latter. (The lane's own codes: the stickiness comparison above, whose
    # trylock_backoff backs off with sched_yield.)
    seen: list[SwitchReason] = []
    make = driving.make_policy

    class Noting(_WithoutNativePlan):  # every pick in Python: each one is seen
        def pick(self, runnable: Any, current: Any, reason: SwitchReason) -> int:
            seen.append(reason)
            return self.policy.pick(runnable, current, reason)  # type: ignore[no-any-return]

    monkeypatch.setattr(driving, "make_policy", lambda name, config: Noting(make(name, config)))
    settings = RunSettings(preempt=Preempt.FUEL, policy="random", seed=4, max_steps=200_000)
    outcome = _run("libc/yield_spin_sleeper.wasm", ["20"], settings, lane, monkeypatch)
    assert outcome.status is Status.EXITED and outcome.exit_code == 0, outcome.report
    assert SwitchReason.GAVE_UP in seen and SwitchReason.YIELDED in seen


def test_a_python_policy_that_pauses_inside_the_lane_ends_the_execution_as_the_python_loop_does(
        monkeypatch: pytest.MonkeyPatch, lane_steps: type[_CountingLane]) -> None:
    # A policy without a native plan is called from the lane (pick, slice_for); the shrinker's candidate
    # policies pause an execution (schedulers.base.Pause) from pick, now inside the lane's run.
    make = driving.make_policy

    class PausingAt(_WithoutNativePlan):
        picks = 0

        def pick(self, runnable: Any, current: Any, reason: SwitchReason) -> int:
            self.picks += 1
            if self.picks == 40:
                raise Pause("before decision 40")
            return self.policy.pick(runnable, current, reason)  # type: ignore[no-any-return]

    monkeypatch.setattr(driving, "make_policy", lambda name, config: PausingAt(make(name, config)))
    settings = RunSettings(preempt=Preempt.FUEL, policy="random", seed=3, slice=500)
    reference = _run("c/mutex_counter.wasm", ["10"], settings, False, monkeypatch)
    assert lane_steps.taken == 0
    with_lane = _run("c/mutex_counter.wasm", ["10"], settings, True, monkeypatch)
    assert lane_steps.taken > 0
    assert reference.status is Status.HANG and reference.hang_limit == serial.PAUSE_LIMIT
    assert "before decision 40" in reference.report
    assert _observable(with_lane) == _observable(reference)
    assert with_lane.hang_limit == reference.hang_limit


def test_the_slots_wait_kind_tells_a_host_scheduling_point_from_giving_up_the_processor() -> None:
    # What the native step loop reads (lane.h): a host function's scheduling point (a Yield, as a
    # host Lock's acquire makes) offers to switch and is YIELDED, sched_yield's GiveUp is GAVE_UP.
    from pytest_wasmconc.runtime.hostapi import GiveUp, Sleep, Yield
    from pytest_wasmconc.runtime.machine.threads import _wait_kind

    assert [_wait_kind(w) for w in (None, Yield(), Sleep(1), GiveUp())] == [0, 1, 2, 3]
