"""The race check on guests/races (issue 17's four bug shapes, real wasi-libc): each bug is reported
early, naming the racing functions; each fixed twin reports nothing.

A schedule reports a race as soon as both accesses run unordered by happens-before; in the
schedules before, one thread had done all its accesses before the other started, ordered
through libc's own thread-list lock (thread exit, then pthread_create).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_wasmconc.checks.races import TITLE, RaceCheck
from pytest_wasmconc.runtime import GuestIO, Runner, RunSettings

RACES = Path(__file__).resolve().parents[3] / "guests" / "races"

# guest -> a function each report must name
BUGS = {
    "order_flags": "checker",
    "order_publish": "reader",
    "wrong_lock_bank": "withdrawer",
    "wrong_lock_forgot": "worker",
    "lost_update_pair": "count_primes",
    "lost_update_balance": "cash_machine",
    "lost_update_refcount": "reader",
    "lost_update_hits": "connection",
    "check_act_lazy_init": "client",
    "check_act_claim": "worker",
}


def explore(guest: str, schedules: int) -> tuple[RaceCheck, int | None, str]:
    check = RaceCheck()
    result = Runner(RunSettings(seed=0)).explore(RACES / f"{guest}.wasm", GuestIO(), schedules=schedules,
                                                 extensions=[check], is_failure=lambda o: check.inspect(o) is not None)
    failure = check.inspect(result.outcome)
    return check, result.first_failure_index, failure.message if failure is not None else ""


@pytest.mark.parametrize("guest", sorted(BUGS))
def test_each_bug_is_reported_within_a_few_schedules_naming_its_function(guest: str) -> None:
    _, first, text = explore(guest, 30)
    assert first is not None, f"{guest}: no race in 30 schedules"
    headers = [ln for ln in text.splitlines() if ln.startswith(TITLE)]
    assert headers and all(BUGS[guest] in h for h in headers[:1]), text
    assert f"races/{guest}.c:" in text  # the racing source line, from the guest's DWARF


@pytest.mark.parametrize("guest", sorted(BUGS))
def test_each_fixed_twin_reports_no_race(guest: str) -> None:
    check, first, text = explore(f"{guest}_fixed", 3 if guest == "lost_update_hits" else 15)
    assert first is None and text == ""
    assert check.executions == (3 if guest == "lost_update_hits" else 15)


@pytest.mark.parametrize("guest", ["check_act_lazy_init"])
def test_a_schedule_that_shows_no_race_notes_its_accesses_as_candidates_and_reports_nothing(guest: str) -> None:
    # The schedules before the first report (see the module docstring) order the two accesses
    # through libc's thread-list lock; their candidates name the very sites the race is then
    # reported at, and no candidate is ever reported.
    check = RaceCheck(backtraces=False, candidates=True)
    runner = Runner(RunSettings(seed=0))
    quiet: set[int] = set()
    for index in range(60):
        result = runner.explore(RACES / f"{guest}.wasm", GuestIO(), schedules=1, start=index, extensions=[check],
                                is_failure=lambda o: False)
        reported = check.inspect(result.outcome)
        if reported is None:
            quiet |= check.candidate_sites
            continue
        found = {at for r in check_reports(result.outcome) for at in r}
        assert quiet, "the schedules before the first report noted candidates"
        assert found <= quiet
        return
    pytest.fail("no schedule of 60 reported the race")


def check_reports(outcome: object) -> list[tuple[int, int]]:
    from pytest_wasmconc.checks.races import races_of  # noqa: PLC0415

    found = races_of(outcome)  # type: ignore[arg-type]
    return [(r.previous_site.at, r.current_site.at) for r in (found.reports if found is not None else ())]
