"""Random walk: seeded uniform choices, random slices, one execution per config."""

from __future__ import annotations

from collections import Counter

from programs import busy_program, other_program
from schedsim import run

from pytest_wasmconc.schedulers import PolicyConfig, RandomWalk, SwitchReason


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
