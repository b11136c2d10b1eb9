"""Random walk: seeded uniform choices, yield-point stickiness, random slices, one execution per config."""

from __future__ import annotations

from collections import Counter

import pytest
from programs import busy_program, other_program
from schedsim import run

from pytest_wasmconc.schedulers import PolicyConfig, RandomWalk, SwitchReason
from pytest_wasmconc.schedulers.random_walk import STAY_WEIGHTS


def test_random_same_seed_gives_the_same_decisions_and_slices() -> None:
    first = run(RandomWalk(PolicyConfig(seed=42, slice=8)), busy_program())
    second = run(RandomWalk(PolicyConfig(seed=42, slice=8)), busy_program())
    assert first.decisions == second.decisions
    assert first.slices == second.slices
    assert first.fuel == second.fuel


def test_random_different_seeds_give_different_schedules() -> None:
    schedules = {
        (tuple(t.decisions), tuple(t.slices))
        for t in (run(RandomWalk(PolicyConfig(seed=s, slice=8)), busy_program()) for s in range(20))
    }
    assert len(schedules) == 20


def test_random_execution_is_reproducible_regardless_of_earlier_executions() -> None:
    used = RandomWalk(PolicyConfig(seed=7, slice=8))
    for _ in range(3):
        run(used, other_program())
    run(used, busy_program())
    fresh = RandomWalk(PolicyConfig(seed=7, slice=8))
    assert run(used, busy_program()).fuel == run(fresh, busy_program()).fuel


def test_random_slices_vary_within_an_execution_around_its_own_scale() -> None:
    policy = RandomWalk(PolicyConfig(seed=3, slice=1000))
    slices = [policy.slice_for(0) for _ in range(20_000)]
    scale = policy.describe()["mean_slice"]
    assert 1 <= scale <= 1000
    assert min(slices) >= 1
    assert max(slices) <= 2 * scale - 1
    assert abs(sum(slices) / len(slices) - scale) < scale * 0.05 + 1


def test_random_executions_spread_their_quantum_scale_from_slice_down_to_slice_over_128() -> None:
    scales = {RandomWalk(PolicyConfig(seed=s, slice=1280)).describe()["mean_slice"] for s in range(200)}
    assert scales == {1280 >> k for k in range(8)}


def test_random_slice_of_one_is_always_one() -> None:
    policy = RandomWalk(PolicyConfig(seed=3, slice=1))
    assert {policy.slice_for(0) for _ in range(100)} == {1}


def test_random_chooses_uniformly_among_runnable_threads_including_current() -> None:
    policy = RandomWalk(PolicyConfig(seed=11))
    counts = Counter(policy.pick([0, 4, 9], 4, SwitchReason.PREEMPTED) for _ in range(30_000))
    assert set(counts) == {0, 4, 9}
    assert all(abs(n / 30_000 - 1 / 3) < 0.02 for n in counts.values())


def test_random_thread_choices_do_not_depend_on_how_many_slices_were_asked() -> None:
    plain = RandomWalk(PolicyConfig(seed=5))
    chatty = RandomWalk(PolicyConfig(seed=5))
    picks_plain = []
    picks_chatty = []
    for i in range(50):
        picks_plain.append(plain.pick([0, 1, 2], 0, SwitchReason.YIELDED))
        picks_chatty.append(chatty.pick([0, 1, 2], 0, SwitchReason.YIELDED))
        for _ in range(i % 3):
            chatty.slice_for(0)
    assert picks_plain == picks_chatty


def test_random_single_runnable_thread_consumes_no_randomness() -> None:
    with_solo = RandomWalk(PolicyConfig(seed=9))
    without = RandomWalk(PolicyConfig(seed=9))
    assert with_solo.pick([3], 3, SwitchReason.PREEMPTED) == 3
    assert [with_solo.pick([0, 1], 0, SwitchReason.YIELDED) for _ in range(20)] == [
        without.pick([0, 1], 0, SwitchReason.YIELDED) for _ in range(20)
    ]


def _seeds_with_stay(weight: int, count: int) -> list[int]:
    """The first `count` seeds whose executions draw the yield-point stickiness `weight`."""
    seeds = (s for s in range(100_000) if RandomWalk(PolicyConfig(seed=s)).describe()["stay"] == weight)
    return [next(seeds) for _ in range(count)]


def test_random_executions_spread_their_yield_point_stickiness_over_the_weights() -> None:
    drawn = Counter(RandomWalk(PolicyConfig(seed=s)).describe()["stay"] for s in range(3_000))
    assert set(drawn) == set(STAY_WEIGHTS)
    for weight in STAY_WEIGHTS:
        assert abs(drawn[weight] / 3_000 - 1 / len(STAY_WEIGHTS)) < 0.04, drawn


@pytest.mark.parametrize("weight", STAY_WEIGHTS)
def test_random_keeps_the_current_thread_at_a_yield_point_with_the_executions_odds(weight: int) -> None:
    # Kept w times in w + 1, else a uniform choice that may fall on it too: (w + 1/2) / (w + 1) of
    # two runnable threads.
    kept = picks = 0
    for seed in _seeds_with_stay(weight, 40):
        policy = RandomWalk(PolicyConfig(seed=seed))
        kept += sum(policy.pick([0, 1], 1, SwitchReason.YIELDED) == 1 for _ in range(250))
        picks += 250
    assert abs(kept / picks - (weight + 0.5) / (weight + 1)) < 0.02, (kept / picks, weight)


@pytest.mark.parametrize("reason", [SwitchReason.PREEMPTED, SwitchReason.SPAWNED, SwitchReason.GAVE_UP])
def test_random_stickiness_holds_only_at_yield_points(reason: SwitchReason) -> None:
    # At a quantum's end the quantum scale already spread the execution's granularity; at a spawn,
    # creator first and created first are equally likely (both orders make bugs); a thread that
    # gave up the processor (sched_yield) asked for another to run.
    kept = picks = 0
    for seed in _seeds_with_stay(max(STAY_WEIGHTS), 40):
        policy = RandomWalk(PolicyConfig(seed=seed))
        kept += sum(policy.pick([0, 1], 1, reason) == 1 for _ in range(250))
        picks += 250
    assert abs(kept / picks - 0.5) < 0.02


def test_random_a_sticky_execution_chooses_uniformly_when_the_current_thread_cannot_continue() -> None:
    (seed,) = _seeds_with_stay(max(STAY_WEIGHTS), 1)
    policy = RandomWalk(PolicyConfig(seed=seed))
    counts = Counter(policy.pick([0, 4, 9], 2, SwitchReason.YIELDED) for _ in range(30_000))
    assert all(abs(counts[t] / 30_000 - 1 / 3) < 0.02 for t in (0, 4, 9)), counts
