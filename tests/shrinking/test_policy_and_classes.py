"""The candidate policy, outcome classes and the interleaving's switches, without wasm."""

from __future__ import annotations

import pytest

from pytest_wasmconc.runtime.outcome import Outcome, Status, ThreadReport
from pytest_wasmconc.schedulers.base import Pause, SwitchReason
from pytest_wasmconc.shrinking.classes import outcome_class, trap_kind
from pytest_wasmconc.shrinking.interleaving import located, switch_points
from pytest_wasmconc.shrinking.policy import FAIR_PICKS, CandidatePolicy, Entry, Pick

P, Y, B, X, S = (SwitchReason.PREEMPTED, SwitchReason.YIELDED, SwitchReason.BLOCKED, SwitchReason.EXITED,
                 SwitchReason.START)


def test_a_candidate_plays_its_entries_leniently_then_never_preempts() -> None:
    policy = CandidatePolicy([Entry(1, 5), Entry(7, 6)], fuel=100)
    assert policy.pick((0, 1), None, S) == 1 and policy.slice_for(1) == 5
    assert policy.pick((0, 1), 1, P) == 1 and policy.slice_for(1) == 6  # thread 7 cannot run: no preemption
    assert policy.pick((0, 1), 1, P) == 1 and policy.slice_for(1) == 100  # past the list: the current one
    assert policy.pick((0, 2), None, X) == 0  # none may continue: the lowest id
    assert [p.preempts for p in policy.picks] == [False, False, False, False]


def test_a_thread_that_keeps_the_cpu_too_long_hands_it_on() -> None:
    policy = CandidatePolicy([], fuel=10)
    chosen = [policy.pick((0, 1), 0 if i else None, Y) for i in range(FAIR_PICKS + 2)]
    assert chosen[:FAIR_PICKS + 1] == [0] * (FAIR_PICKS + 1) and chosen[-1] == 1
    assert policy.picks[-1].preempts


def test_a_candidate_pauses_before_the_decision_asked() -> None:
    policy = CandidatePolicy([Entry(0, 1), Entry(1, 1)], fuel=10, pause_at=1)
    policy.pick((0, 1), None, S)
    with pytest.raises(Pause):
        policy.pick((0, 1), 0, P)


def test_free_access_threads_are_charged_as_recorded() -> None:
    policy = CandidatePolicy([], fuel=10, free_accesses=[2])
    assert policy.charges_accesses(1) and not policy.charges_accesses(2)


def outcome(status: Status, **kw: object) -> Outcome:
    return Outcome(status=status, exit_code=kw.pop("exit_code", None), **kw)  # type: ignore[arg-type]


def test_outcome_classes_tell_failures_apart_but_not_who_got_there_first() -> None:
    assert outcome_class(outcome(Status.EXITED, exit_code=1)) == outcome_class(outcome(Status.EXITED, exit_code=1))
    assert outcome_class(outcome(Status.EXITED, exit_code=1)) != outcome_class(outcome(Status.EXITED, exit_code=2))
    a = outcome(Status.TRAPPED, trap_thread=1, trap_message="wasm trap: out of bounds memory access\nmore")
    b = outcome(Status.TRAPPED, trap_thread=2, trap_message="wasm trap: out of bounds memory access")
    c = outcome(Status.TRAPPED, trap_thread=2, trap_message="wasm trap: integer divide by zero")
    assert outcome_class(a) == outcome_class(b) != outcome_class(c)
    assert trap_kind("assertion failed at 0x1234, line 17") == "assertion failed at #, line #"
    d1 = outcome(Status.DEADLOCK, threads=[ThreadReport(1, "parked", "lock A"), ThreadReport(2, "parked", "lock B")])
    d2 = outcome(Status.DEADLOCK, threads=[ThreadReport(1, "parked", "lock B"), ThreadReport(2, "parked", "lock A")])
    assert outcome_class(d1) != outcome_class(d2)
    assert outcome_class(outcome(Status.HANG, hang_limit="max-steps")) != outcome_class(outcome(Status.DEADLOCK))
    assert outcome_class(outcome(Status.EXITED, exit_code=1)).describe() == "exit code 1"


def test_switches_name_who_stopped_how_and_who_ran() -> None:
    picks = [Pick((0, 1), None, S, 0), Pick((0, 1), 0, P, 1), Pick((0, 1), 1, Y, 1), Pick((0,), None, X, 0),
             Pick((0, 2), 2, P, 0)]
    switches = switch_points(picks)
    assert [(s.decision, s.left, s.how, s.to, s.alone) for s in switches] == [
        (1, 0, "preempted", 1, False), (3, 1, "exited", 0, False),
        (4, 0, "stopped", 2, True),  # thread 2 ran alone in between: no decision
        (4, 2, "preempted", 0, False)]
    threads = [ThreadReport(0, "runnable", None, ["f (@0x10)", "main (@0x20)", "_start (@0x30)"]),
               ThreadReport(1, "runnable", None, [])]
    shown = located(switches[0], threads)
    assert shown.render(1) == "  1. thread 0 (main) preempted in f (@0x10) in main (@0x20) -> thread 1 runs (starts)"


def test_a_race_checks_pairs_are_part_of_the_class_unless_left_out() -> None:
    from types import SimpleNamespace

    from pytest_wasmconc.checks.races.check import OUTCOME_KEY, ExecutionRaces

    def raced(*pairs: tuple[int, int]) -> Outcome:
        reports = [SimpleNamespace(previous_site=SimpleNamespace(at=a), current_site=SimpleNamespace(at=b))
                   for a, b in pairs]
        out = outcome(Status.EXITED, exit_code=0)
        out.extra[OUTCOME_KEY] = ExecutionRaces(None, 1, reports, None, "")  # type: ignore[arg-type]
        return out

    assert outcome_class(raced((1, 2))) == outcome_class(raced((2, 1)))  # a pair, either way round
    assert outcome_class(raced((1, 2))) != outcome_class(raced((1, 3)))
    assert outcome_class(raced((1, 2)), races=False) == outcome_class(outcome(Status.EXITED, exit_code=0))
    assert outcome_class(raced((1, 2))).describe() == "exit code 0, 1 racing pair"


def test_a_thread_that_stopped_without_a_decision_is_told_by_its_state_at_the_next_one() -> None:
    from pytest_wasmconc.shrinking.interleaving import Switch

    alone = Switch(4, 0, "stopped", 2, alone=True)
    woken = located(alone, [ThreadReport(0, "runnable", None, ["join (@0x5)"]), ThreadReport(2, "running")])
    assert woken.render(3) == ("  3. thread 0 (main) blocked (and was woken since) in join (@0x5) -> thread 2 runs "
                               "alone (the only thread that could run)")
    parked = located(alone, [ThreadReport(0, "parked", "futex 0x10", ["join (@0x5)"])])
    assert parked.how == "blocked" and parked.left_at == "futex 0x10, at join (@0x5)"
    assert located(alone, [ThreadReport(0, "finished")]).how == "exited"
