"""wasm_no_data_race: a data race fails the test with both accesses; synchronized guests pass; bad arguments."""

from __future__ import annotations

import pytest
from child_processes import CHILD_LIMIT_S
from plugin_helpers import C_GUESTS, replay_flag

RACECHECK = C_GUESTS.parent / "racecheck"

RACE_TESTS = f'''
import pytest
from pathlib import Path

RACY = Path({str(RACECHECK / "racy.wasm")!r})
SYNCED = Path({str(RACECHECK / "synced.wasm")!r})

@pytest.mark.wasm_no_data_race
def test_lost_update(wasm_scheduler):
    wasm_scheduler.run(RACY, ["counter"])

@pytest.mark.wasm_no_data_race
def test_mutex(wasm_scheduler):
    assert wasm_scheduler.explore(SYNCED, ["mutex"], schedules=10).exit_code == 0

@pytest.mark.wasm_no_data_race(suppress=["add_.*"])
def test_suppressed(wasm_scheduler):
    assert wasm_scheduler.run(RACY, ["counter"]).exit_code == 0

def test_unmarked_tests_are_not_checked(wasm_scheduler):
    assert wasm_scheduler.run(RACY, ["counter"]).exit_code == 0

@pytest.mark.wasm_no_data_race(suppress=["add_("])
def test_bad_pattern(wasm_scheduler):
    wasm_scheduler.run(RACY, ["counter"])

@pytest.mark.wasm_no_data_race("add_.*")
def test_positional(wasm_scheduler):
    wasm_scheduler.run(RACY, ["counter"])
'''


def test_a_race_fails_its_test_with_both_accesses_and_a_replay_command(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_races=RACE_TESTS)
    result = wasm_project.runpytest_subprocess("--wasm-seed=0", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1, passed=3, errors=2)
    result.stdout.fnmatch_lines([
        "*GuestCheckError: wasm_no_data_race: WARNING: data race between add_* and add_* in *racy.wasm*",
        "*of size 4 at 0x* by thread *",
        "*at add_*",
        "*Previous * of size 4 at 0x* by thread *",
        "*replay: pytest *test_races.py::test_lost_update --wasm-replay=wc1-*",
    ])
    result.stdout.fnmatch_lines([
        "*ERROR at setup of test_bad_pattern*",
        "@pytest.mark.wasm_no_data_race: suppress: 'add_(' is not a valid regular expression*",
    ])
    result.stdout.fnmatch_lines(["*ERROR at setup of test_positional*",
                                 "@pytest.mark.wasm_no_data_race takes only keyword arguments (suppress=)"])


def test_the_replay_flag_reproduces_the_race(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_races=RACE_TESTS)
    first = wasm_project.runpytest_subprocess("-k", "lost_update", "--wasm-seed=3", timeout=CHILD_LIMIT_S)
    first.assert_outcomes(failed=1)
    again = wasm_project.runpytest_subprocess("-k", "lost_update", replay_flag(first.stdout.str()),
                                             timeout=CHILD_LIMIT_S)
    again.assert_outcomes(failed=1)
    again.stdout.fnmatch_lines(["*wasm_no_data_race: WARNING: data race between add_*"])
