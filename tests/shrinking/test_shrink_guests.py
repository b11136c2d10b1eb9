"""Shrinking real guests: a random failing schedule retold with at most 2 preemptions, replayed 10 of 10."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_wasmconc.directed import direct
from pytest_wasmconc.runtime import GuestIO, Runner, RunSettings
from pytest_wasmconc.runtime.token import decode_token
from pytest_wasmconc.shrinking import Shrunk, outcome_class, shrink_failure

GUESTS = Path(__file__).resolve().parents[2] / "guests"
LOST_UPDATE = str(GUESTS / "c" / "lost_update.wasm")


def explore_and_shrink(guest: str, settings: RunSettings, budget: float = 30.0) -> tuple[Runner, Shrunk]:
    runner = Runner(settings)
    program = runner.load(guest, settings)
    io = GuestIO()
    found = runner.explore(program, io, schedules=200, settings=settings)
    assert found.failed
    shrunk = shrink_failure(runner, program, io, found.outcome, settings, budget=budget)
    assert shrunk is not None
    return runner, shrunk


@pytest.mark.parametrize("seed", [1, 3])
def test_a_random_lost_update_shrinks_to_at_most_two_preemptions_and_replays_10_of_10(seed: int) -> None:
    runner, shrunk = explore_and_shrink(LOST_UPDATE, RunSettings(policy="random", seed=seed))
    assert shrunk.note is None and shrunk.improved, shrunk.headline()
    assert shrunk.preemptions is not None and shrunk.preemptions <= 2
    assert shrunk.original_preemptions is not None and shrunk.original_preemptions > shrunk.preemptions
    token = shrunk.outcome.token
    assert token is not None and token != shrunk.original.token
    target = outcome_class(shrunk.outcome)
    assert target == outcome_class(shrunk.original)  # exit code 1: an update was lost
    replays = [runner.replay(LOST_UPDATE, token) for _ in range(10)]
    assert [outcome_class(o) for o in replays] == [target] * 10
    assert {o.stdout for o in replays} == {shrunk.outcome.stdout}
    assert runner.replay(LOST_UPDATE, shrunk.original.token or "").stdout == shrunk.original.stdout


def test_the_report_tells_the_shrunk_schedule_as_its_context_switches() -> None:
    _, shrunk = explore_and_shrink(LOST_UPDATE, RunSettings(policy="random", seed=3))
    text = "\n".join(shrunk.lines(lambda token: f"REPLAY {token}"))
    assert text.startswith(f"shrunk from {shrunk.original_preemptions} to {shrunk.preemptions} preemption")
    assert f"replay (shrunk schedule): REPLAY {shrunk.outcome.token}" in text
    assert f"replay (original schedule, {shrunk.original_preemptions} preemptions): REPLAY {shrunk.original.token}" \
        in text
    assert "interleaving of the shrunk schedule" in text
    preempted = [s for s in shrunk.switches if s.how == "preempted"]
    assert preempted and all(s.left_at and "(@0x" in s.left_at for s in preempted)
    # the lost update's window: a worker preempted between its read and its write, in worker()
    assert any(s.left_at and s.left_at.startswith("worker (@0x") for s in preempted)


def test_a_race_directed_portfolio_failure_shrinks_with_its_hot_sites_kept() -> None:
    guest = str(GUESTS / "races" / "lost_update_balance.wasm")
    runner = Runner(RunSettings(policy="portfolio", seed=10))  # a seed whose set-up finds the racy sites
    io = GuestIO()
    direction = direct(runner, guest, io, settings=runner.settings)
    assert direction.hot_sites
    runner, shrunk = explore_and_shrink(guest, direction.settings)
    assert shrunk.improved and shrunk.preemptions is not None and shrunk.preemptions <= 2
    token = shrunk.outcome.token or ""
    assert decode_token(token).hot_sites == direction.hot_sites
    assert [outcome_class(runner.replay(guest, token)) for _ in range(3)] == [outcome_class(shrunk.original)] * 3


def test_a_deadlock_shrinks_to_the_same_cycle() -> None:
    guest = str(GUESTS / "c" / "lock_order.wasm")
    runner, shrunk = explore_and_shrink(guest, RunSettings(policy="random", seed=0))
    assert shrunk.improved and shrunk.outcome.status.value == "deadlock"
    assert outcome_class(shrunk.outcome) == outcome_class(shrunk.original)
    assert outcome_class(runner.replay(guest, shrunk.outcome.token or "")) == outcome_class(shrunk.original)


def test_what_is_not_shrunk_says_why() -> None:
    runner = Runner(RunSettings(policy="dfs"))
    guest = str(GUESTS / "dfs" / "two_flags.wasm")
    program = runner.load(guest)
    found = runner.explore(program, GuestIO(), schedules=10_000, preemption_bound=2)
    assert found.failed
    shrunk = shrink_failure(runner, program, GuestIO(), found.outcome, runner.settings, budget=5)
    assert shrunk is not None and not shrunk.improved
    assert shrunk.headline() == ("shrinking: not needed: the dfs search's first failure has the fewest preemptions "
                                 "of any it explored")
    assert shrink_failure(runner, program, GuestIO(), found.outcome, runner.settings, budget=0) is None


def test_a_hang_at_the_step_budget_shrinks_to_a_hang_at_the_step_budget() -> None:
    guest = str(GUESTS / "wat" / "spin_forever.wasm")  # a worker spins on a flag nobody sets
    runner, shrunk = explore_and_shrink(guest, RunSettings(policy="random", seed=1, max_steps=2000))
    assert shrunk.original.hang_limit == "max-steps"
    assert shrunk.improved and shrunk.preemptions == 0
    assert (shrunk.outcome.status.value, shrunk.outcome.hang_limit) == ("hang", "max-steps")
    assert runner.replay(guest, shrunk.outcome.token or "").hang_limit == "max-steps"


def test_a_shrinker_that_breaks_reports_the_original_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = Runner(RunSettings(policy="random", seed=3))
    program = runner.load(LOST_UPDATE)
    found = runner.explore(program, GuestIO(), schedules=200)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(runner, "execute", broken)
    shrunk = shrink_failure(runner, program, GuestIO(), found.outcome, runner.settings, budget=5)
    assert shrunk is not None and shrunk.outcome is found.outcome and not shrunk.improved
    assert shrunk.headline() == "shrinking: failed (RuntimeError: boom); the original schedule is reported"
