"""The default exploration's plan (directed.py DirectedPlan), position by position, against fake outcomes.

No wasm here: the plan only reads an outcome's decisions, policy state and race reports.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from pytest_wasmconc.checks.races import RaceCheck
from pytest_wasmconc.checks.races.check import OUTCOME_KEY, ExecutionRaces
from pytest_wasmconc.directed import (DIRECTED_EVERY, DISCOVERY_PCT_MAX, DISCOVERY_SCHEDULES, LEAD_FIRST,
                                      PCT_DECISION_LIMIT, PCT_THREAD_DECISION_LIMIT, DirectedPlan)
from pytest_wasmconc.runtime.drivers.driving import POLICY_STATE
from pytest_wasmconc.runtime.outcome import Outcome, Status
from pytest_wasmconc.runtime.settings import RunSettings
from pytest_wasmconc.schedulers import RandomWalk, derive_seed
from pytest_wasmconc.schedulers.portfolio import CLASSIC_PCT, HOT_PCT, MEMBERS, member_of

BASE = RunSettings(seed=11, policy="portfolio")


def outcome(*, sites: tuple[int, ...] = (), threads: int = 2, steps: int | None = None,
            choices: int | None = None, decisions: int | None = None) -> Outcome:
    """A passing execution of `threads` threads whose race check (if any) reported `sites` in pairs."""
    extra: dict[str, Any] = {}
    if sites:
        reports = [SimpleNamespace(previous_site=SimpleNamespace(at=a), current_site=SimpleNamespace(at=b))
                   for a, b in zip(sites[::2], sites[1::2])]
        extra[OUTCOME_KEY] = ExecutionRaces(RaceCheck(), 1, reports, None, "races")  # type: ignore[arg-type]
    if steps is not None or choices is not None:
        extra[POLICY_STATE] = {"steps": steps, "choices": choices}
    made = tuple(range(threads)) if decisions is None else tuple(i % threads for i in range(decisions))
    return Outcome(Status.EXITED, 0, decisions=made, extra=extra)


def has_discovery_check(run: Any) -> bool:
    return any(isinstance(e, RaceCheck) for e in run.extensions)


def counted(run: Any, hits: dict[int, int]) -> None:
    """What the run's race check counted, as an execution under it would have left it."""
    (check,) = [e for e in run.extensions if isinstance(e, RaceCheck)]
    assert check.count_sites
    check.site_hits = hits


def test_the_first_schedules_are_the_random_walks_own_with_the_race_check_riding_along() -> None:
    plan = DirectedPlan(BASE)
    for position in range(LEAD_FIRST):
        run = plan.next_run(position)
        assert run.settings.policy == "random"
        assert run.settings.seed == derive_seed(BASE.seed, position)  # schedule `position` of --policy random
        assert run.settings.hot_sites == ()
        assert has_discovery_check(run)
        plan.observe(position, outcome())


def test_discovery_reports_are_taken_out_of_the_outcome_they_steer() -> None:
    plan = DirectedPlan(BASE)
    plan.next_run(0)
    seen = outcome(sites=(100, 200))
    plan.observe(0, seen)
    assert OUTCOME_KEY not in seen.extra  # not a failure of the guest: the user asked for no race check
    assert plan.hot_sites == (100, 200)


def test_a_users_own_race_check_does_discovery_and_keeps_its_reports() -> None:
    mine = RaceCheck()
    plan = DirectedPlan(BASE, [mine])
    run = plan.next_run(0)
    assert list(run.extensions) == [mine]
    seen = outcome(sites=(1, 2))
    plan.observe(0, seen)
    assert OUTCOME_KEY in seen.extra
    assert plan.hot_sites == (1, 2)


def is_directed_position(position: int) -> bool:
    return position >= LEAD_FIRST and (position - LEAD_FIRST) % DIRECTED_EVERY == DIRECTED_EVERY - 1


def test_after_the_lead_the_random_walk_keeps_most_positions_and_the_rest_go_discovery_pilot_portfolio(
) -> None:
    plan = DirectedPlan(BASE)
    kinds: list[str] = []
    random_seeds: list[int] = []
    positions = LEAD_FIRST + 4 * DIRECTED_EVERY
    for position in range(positions):
        run = plan.next_run(position)
        s = run.settings
        if s.policy == "random":
            kinds.append("walk")
            random_seeds.append(s.seed)
            # The walk's checked schedules find no race: the first directed position is discovery's.
            plan.observe(position, outcome())
        elif s.policy == "pct" and s.pct_steps is None:
            kinds.append("discovery")
            assert has_discovery_check(run) and s.hot_sites == ()
            plan.observe(position, outcome(sites=(7, 9)))
        elif s.policy == "pct":
            kinds.append("pilot")
            assert not has_discovery_check(run) and s.hot_sites == (7, 9)
            plan.observe(position, outcome(steps=20, choices=41))
        else:
            kinds.append("portfolio")
            assert s.policy == "portfolio" and s.hot_sites == (7, 9)
            assert MEMBERS[member_of(s.seed)] is not RandomWalk  # the walk has positions of its own
            assert (s.pct_steps, s.pct_choices) == (10, 20)  # half the pilot's counts
            plan.observe(position, outcome())
    # The walk keeps its own sequence of seeds whatever runs between its schedules.
    assert random_seeds == [derive_seed(BASE.seed, i) for i in range(len(random_seeds))]
    directed = [k for p, k in enumerate(kinds) if is_directed_position(p)]
    assert [k for p, k in enumerate(kinds) if not is_directed_position(p)] == ["walk"] * (positions - len(directed))
    assert directed == ["discovery", "pilot", "portfolio", "portfolio"]
    direction = plan.direction(1.0)
    assert direction.ready and direction.hot_sites == (7, 9)
    assert direction.executions == 2
    assert "2 racy access sites" in direction.summary()


def test_discovery_goes_on_while_no_race_shows_and_stops_after_its_last_pct_execution() -> None:
    plan = DirectedPlan(BASE)
    position = 0
    pct = 0
    while pct < DISCOVERY_PCT_MAX:
        run = plan.next_run(position)
        assert has_discovery_check(run), position
        pct += run.settings.policy == "pct"
        plan.observe(position, outcome())
        position += 1
    assert position > DISCOVERY_SCHEDULES
    later = [plan.next_run(p) for p in range(position, position + DIRECTED_EVERY)]
    assert not any(has_discovery_check(r) for r in later)
    assert [r.settings.policy for r in later if r.settings.policy != "random"] == ["pct"]  # the pilot


MANY_THREADS = 1_001
BUSY = PCT_THREAD_DECISION_LIMIT // MANY_THREADS + 1  # decisions that make PCT too slow for that many threads


@pytest.mark.parametrize("position", [0, LEAD_FIRST + 1])
def test_a_guest_of_many_threads_and_decisions_is_explored_by_the_random_walk_alone(position: int) -> None:
    plan = DirectedPlan(BASE)
    for p in range(position + 1):
        plan.next_run(p)
        plan.observe(p, outcome(threads=MANY_THREADS, decisions=BUSY) if p == position else outcome())
    runs = [plan.next_run(p) for p in range(position + 1, position + 9)]
    assert all(r.settings.policy == "random" and not has_discovery_check(r) for r in runs)
    assert f"not at {MANY_THREADS:,} threads x {BUSY:,} decisions" in plan.direction(1.0).summary()


def test_many_threads_alone_do_not_make_the_walk_explore_alone() -> None:
    # A hundred short-lived threads: PCT decides over them about as fast as the walk (directed.py).
    plan = DirectedPlan(BASE)
    plan.next_run(0)
    plan.observe(0, outcome(threads=MANY_THREADS, decisions=BUSY - 1))
    assert has_discovery_check(plan.next_run(1))
    assert "not at" not in plan.direction(1.0).summary()


def test_a_failure_before_the_set_up_ended_is_said_so() -> None:
    plan = DirectedPlan(BASE)
    plan.next_run(0)
    plan.observe(0, outcome(sites=(3, 4)))
    assert "had not ended" in plan.direction(0.1).summary()


def test_a_guest_the_race_check_cannot_take_runs_each_position_without_it_and_discovery_ends() -> None:
    plan = DirectedPlan(BASE)
    first = plan.next_run(0)
    assert has_discovery_check(first)
    again = plan.cannot_run(0, ValueError("g.wasm has no name section"))
    assert again is not None and not has_discovery_check(again)
    assert again.settings == first.settings  # the same schedule of the walk
    plan.observe(0, outcome())
    later = [plan.next_run(p) for p in range(1, LEAD_FIRST + DIRECTED_EVERY)]
    assert not any(has_discovery_check(r) for r in later)
    assert [r.settings.policy for r in later if r.settings.policy != "random"] == ["pct"]  # the pilot, no discovery
    assert "no discovery" in plan.direction(0.1).summary()


def test_an_error_not_of_discoverys_making_is_left_to_end_the_exploration() -> None:
    plan = DirectedPlan(BASE, [RaceCheck()])  # the user's own check: no discovery check of the plan's
    plan.next_run(0)
    assert plan.cannot_run(0, ValueError("cannot create its shared memory")) is None


def test_races_the_walks_checked_schedules_found_end_discovery_without_a_pct_execution() -> None:
    plan = DirectedPlan(BASE)
    for position in range(LEAD_FIRST):
        plan.next_run(position)
        plan.observe(position, outcome(sites=(3, 4)))
    first_directed = next(p for p in range(LEAD_FIRST, LEAD_FIRST + DIRECTED_EVERY) if is_directed_position(p))
    run = plan.next_run(first_directed)
    assert run.settings.policy == "pct" and run.settings.hot_sites == (3, 4) and not has_discovery_check(run)


def test_races_found_by_the_walks_first_checked_schedules_cut_the_lead_short() -> None:
    plan = DirectedPlan(BASE)
    for position in range(DISCOVERY_SCHEDULES):
        counted(plan.next_run(position), {3: 10, 4: 10})
        plan.observe(position, outcome(sites=(3, 4)))
    # Discovery ended at the last of its walk schedules: the walk and the directed positions alternate
    # from there on, the directed ones first, where a full lead would still be the walk's.
    policies = [plan.next_run(p).settings.policy for p in range(DISCOVERY_SCHEDULES, LEAD_FIRST + 2)]
    assert policies[:4] == ["portfolio", "random", "portfolio", "random"]
    assert DISCOVERY_SCHEDULES < LEAD_FIRST  # else there would be no lead to cut


def test_a_guest_without_races_keeps_the_whole_lead() -> None:
    plan = DirectedPlan(BASE)
    for position in range(LEAD_FIRST):
        assert plan.next_run(position).settings.policy == "random"
        plan.observe(position, outcome())
    assert plan.next_run(LEAD_FIRST).settings.policy == "random"
    assert plan.next_run(LEAD_FIRST + 1).settings.policy == "pct"  # discovery's PCT execution


def test_a_guest_whose_schedules_make_too_many_decisions_for_pct_is_explored_by_the_random_walk_alone() -> None:
    plan = DirectedPlan(BASE)
    plan.next_run(0)
    plan.observe(0, outcome(threads=25, decisions=PCT_DECISION_LIMIT))  # at the limit: still directed
    assert has_discovery_check(plan.next_run(1))
    plan.observe(1, outcome(threads=25, decisions=PCT_DECISION_LIMIT + 1))
    runs = [plan.next_run(p) for p in range(2, LEAD_FIRST + 4 * DIRECTED_EVERY)]
    assert all(r.settings.policy == "random" and not has_discovery_check(r) for r in runs)
    assert f"not at {PCT_DECISION_LIMIT + 1:,} decisions in a schedule" in plan.direction(1.0).summary()


def test_counts_of_the_racy_sites_accesses_size_k_so_the_first_directed_position_is_no_pilot() -> None:
    plan = DirectedPlan(BASE)
    # Sites 3 and 4 race; 5 is no racy site (its accesses count for nothing). The most any
    # discovery execution made at the racy sites: 30 + 12 = 42 steps.
    hits = [{3: 20, 4: 10, 5: 900}, {3: 30, 4: 12, 5: 1}, {3: 1, 4: 1}, {}]
    for position in range(DISCOVERY_SCHEDULES):
        run = plan.next_run(position)
        counted(run, hits[position])
        plan.observe(position, outcome(sites=(3, 4)))
    kinds = []
    for position in range(DISCOVERY_SCHEDULES, DISCOVERY_SCHEDULES + 3 * DIRECTED_EVERY):
        run = plan.next_run(position)
        s = run.settings
        assert not has_discovery_check(run)
        if s.policy == "random":
            plan.observe(position, outcome())
            continue
        assert s.policy == "portfolio" and s.hot_sites == (3, 4)
        kinds.append(member_of(s.seed))
        if len(kinds) == 1:
            assert (s.pct_steps, s.pct_choices) == (21, None)  # half the count; classic k not known yet
            plan.observe(position, outcome(steps=50, choices=90))  # the first directed schedule counts
        else:
            assert (s.pct_steps, s.pct_choices) == (25, 45)  # half of what it counted
            plan.observe(position, outcome(steps=400, choices=800))  # later counts change nothing
    assert kinds == [HOT_PCT, HOT_PCT, CLASSIC_PCT]
    direction = plan.direction(1.0)
    assert direction.ready and direction.executions == 0  # no set-up of its own: no pilot, no PCT discovery
    assert direction.settings.pct_steps == 25


def test_the_directed_members_take_turns_hot_hot_classic_and_each_seed_still_names_its_member() -> None:
    plan = DirectedPlan(BASE)
    for position in range(DISCOVERY_SCHEDULES):
        counted(plan.next_run(position), {7: 4})
        plan.observe(position, outcome(sites=(7, 8)))
    members = []
    for position in range(DISCOVERY_SCHEDULES, DISCOVERY_SCHEDULES + 12 * DIRECTED_EVERY):
        s = plan.next_run(position).settings
        if s.policy == "portfolio":
            members.append(member_of(s.seed))
        plan.observe(position, outcome(steps=10, choices=10))
    assert members == [HOT_PCT, HOT_PCT, CLASSIC_PCT] * 4


def test_a_users_race_check_is_asked_to_count_and_its_counts_size_k() -> None:
    mine = RaceCheck()
    plan = DirectedPlan(BASE, [mine])
    assert mine.count_sites
    for position in range(DISCOVERY_SCHEDULES):
        plan.next_run(position)
        mine.site_hits = {1: 8, 2: 8}
        plan.observe(position, outcome(sites=(1, 2)))
    directed = [plan.next_run(p).settings for p in range(DISCOVERY_SCHEDULES, DISCOVERY_SCHEDULES + DIRECTED_EVERY)]
    assert [s.pct_steps for s in directed if s.policy == "portfolio"] == [8]


def candidates_seen(run: Any, sites: set[int], hits: dict[int, int]) -> None:
    """What the run's race check noted as race candidates (and counted), as an execution would leave it."""
    (check,) = [e for e in run.extensions if isinstance(e, RaceCheck)]
    assert check.candidates
    check.candidate_sites = sites
    check.site_hits = hits


def test_while_no_race_shows_the_accesses_of_race_candidates_are_the_hot_sites() -> None:
    plan = DirectedPlan(BASE)
    for position in range(DISCOVERY_SCHEDULES):
        candidates_seen(plan.next_run(position), {5, 6} if position == 1 else set(), {5: 7, 6: 9})
        plan.observe(position, outcome())
    run = plan.next_run(DISCOVERY_SCHEDULES)  # the lead is cut short: candidates steer as races would
    assert run.settings.policy == "portfolio" and run.settings.hot_sites == (5, 6)
    assert run.settings.pct_steps == 8  # half of 7 + 9
    direction = plan.direction(1.0)
    assert direction.candidates and direction.hot_sites == (5, 6)
    assert "no race showed; 2 access sites of possible races" in direction.summary()


def test_races_found_add_their_accesses_to_the_candidates() -> None:
    plan = DirectedPlan(BASE)
    for position in range(DISCOVERY_SCHEDULES):
        candidates_seen(plan.next_run(position), {5, 6}, {3: 2, 4: 2, 5: 7, 6: 9})
        plan.observe(position, outcome(sites=(3, 4)) if position == 2 else outcome())
    assert plan.next_run(DISCOVERY_SCHEDULES).settings.hot_sites == (3, 4, 5, 6)
    direction = plan.direction(1.0)
    assert not direction.candidates
    assert "4 racy access sites" in direction.summary()


def test_after_discovery_ended_on_candidates_the_checked_schedules_go_on_until_a_race_shows() -> None:
    plan = DirectedPlan(BASE)
    for position in range(DISCOVERY_SCHEDULES):
        candidates_seen(plan.next_run(position), {5, 6}, {5: 7, 6: 9})
        plan.observe(position, outcome())
    # Candidates steer the directed schedules at once; they and the walk's carry the check.
    first = plan.next_run(4)
    assert first.settings.hot_sites == (5, 6) and has_discovery_check(first)
    candidates_seen(first, {5, 6}, {5: 7, 6: 9})
    plan.observe(4, outcome(steps=12, choices=30))
    walk = plan.next_run(5)
    assert walk.settings.policy == "random" and has_discovery_check(walk)
    candidates_seen(walk, {5, 6}, {5: 7, 6: 9, 7: 3, 8: 3})
    plan.observe(5, outcome(sites=(7, 8)))  # a race shows: its accesses join the hot sites
    later = plan.next_run(6)
    assert later.settings.hot_sites == (5, 6, 7, 8) and not has_discovery_check(later)
    assert not has_discovery_check(plan.next_run(7))
    assert not plan.direction(1.0).candidates


def test_a_users_race_check_notes_candidates_for_the_plan_and_reports_only_races() -> None:
    mine = RaceCheck()
    DirectedPlan(BASE, [mine])
    assert mine.candidates and mine.count_sites
