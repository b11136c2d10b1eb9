"""Portfolio: each schedule is the random walk's, PCT's over hot accesses or the classic PCT's, by its seed."""

from __future__ import annotations

from programs import busy_program
from schedsim import run

from pytest_wasmconc.schedulers import PolicyConfig, Portfolio, make_policy
from pytest_wasmconc.schedulers._common import stream
from pytest_wasmconc.schedulers.portfolio import HOT_EXTRA_DEPTH, MEMBERS


def _member_index(seed: int) -> int:
    return stream(seed, "portfolio.member").randrange(len(MEMBERS))


def test_portfolio_members_are_a_function_of_the_seed_and_each_gets_a_third() -> None:
    chosen = [_member_index(s) for s in range(300)]
    assert [Portfolio(PolicyConfig(seed=s)).member.name for s in range(300)] == [
        "random" if i == 0 else "pct" for i in chosen]
    assert all(70 < chosen.count(i) < 130 for i in range(3))


def test_a_portfolio_schedule_is_exactly_its_members_schedule() -> None:
    for seed in range(30):
        config = PolicyConfig(seed=seed, slice=5, hot_cost=3, pct_steps=4, pct_choices=9)
        mixed = run(Portfolio(config), busy_program())
        alone = run(MEMBERS[_member_index(seed)](config), busy_program())
        assert (mixed.decisions, mixed.slices) == (alone.decisions, alone.slices)


def test_the_classic_member_counts_every_decision_and_takes_its_own_k() -> None:
    config = PolicyConfig(seed=1, hot_cost=1_000_000, pct_steps=4, pct_choices=9)
    hot, classic = MEMBERS[1](config), MEMBERS[2](config)
    assert hot.describe()["steps_estimate"] in (4, 2, 1) and hot.describe()["mean_slice"] == 1_000_000
    assert classic.describe()["steps_estimate"] == 9 and classic.describe()["mean_slice"] == config.slice


def test_portfolio_is_registered_and_describes_its_member() -> None:
    policy = make_policy("portfolio", PolicyConfig(seed=1))
    assert policy.describe()["member"] in ("pct", "random")


def hot_k(seed: int, k: int) -> int:
    return int(MEMBERS[1](PolicyConfig(seed=seed, hot_cost=1_000_000, pct_steps=k)).describe()["steps_estimate"])


def test_the_hot_member_scales_the_configs_k_down_by_every_power_of_two_alike_by_the_seed() -> None:
    ks = [hot_k(s, 40) for s in range(600)]
    assert set(ks) == {40, 20, 10, 5, 2, 1}  # 40 >> 0 .. 40 >> 5: from the whole count to the first step
    assert all(60 < ks.count(k) < 140 for k in set(ks))
    assert ks == [hot_k(s, 40) for s in range(600)]  # a function of the seed: each schedule replays
    assert {hot_k(s, 1) for s in range(50)} == {1}
    assert {hot_k(s, 3) for s in range(50)} == {3, 1}


def test_the_hot_member_places_one_more_change_point_than_the_depth_asks_and_the_others_as_asked() -> None:
    assert HOT_EXTRA_DEPTH >= 1
    for seed in range(40):
        config = PolicyConfig(seed=seed, hot_cost=1_000_000, pct_steps=40, pct_choices=40, depth=3)
        hot, classic = MEMBERS[1](config).describe(), MEMBERS[2](config).describe()
        # As many as fit within its k (PCT draws distinct change points among the first k steps).
        assert len(hot["change_points"]) == min(config.depth - 1 + HOT_EXTRA_DEPTH, hot["steps_estimate"])
        assert len(classic["change_points"]) == config.depth - 1
