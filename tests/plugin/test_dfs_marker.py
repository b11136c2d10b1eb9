"""The dfs policy through pytest: wasm_settings(policy="dfs", preemption_bound=K) makes explore() a bounded search."""

from __future__ import annotations

from pathlib import Path

import pytest
from child_processes import CHILD_LIMIT_S

GUESTS = Path(__file__).resolve().parents[2] / "guests" / "dfs"

TESTS = f'''
import pytest

TWO_FLAGS = {str(GUESTS / "two_flags.wasm")!r}

@pytest.mark.wasm_settings(policy="dfs", preemption_bound=1, schedules=10_000)
def test_one_preemption_is_not_enough(wasm_scheduler):
    assert wasm_scheduler.explore(TWO_FLAGS).exit_code == 0
    print("STATEMENT", wasm_scheduler.records[-1].statement)

@pytest.mark.wasm_settings(policy="dfs", preemption_bound=2, schedules=10_000)
def test_two_preemptions_find_the_bug(wasm_scheduler):
    assert wasm_scheduler.explore(TWO_FLAGS).exit_code == 0
'''


def test_a_bounded_search_in_a_test_states_what_it_proved_and_reports_its_failure(
        wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_search=TESTS)
    result = wasm_project.runpytest_subprocess("-s", "-p", "no:cacheprovider", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*STATEMENT explored all 30 schedules with at most 1 preemption (reduction: sleep sets, 0 pruned); "
        "no failure*",
    ])
    result.stdout.fnmatch_lines([
        "*two_flags.wasm: exited with code 1 (expected exit code 0) (failure found at preemption bound 2, after * "
        "schedules "
        "(reduction: sleep sets, 209 pruned); schedule * failed after * schedules; fuel mode, policy dfs*",
        "*replay: pytest *test_two_preemptions_find_the_bug --wasm-replay=wc1-*",
    ])
    token = next(ln for ln in result.outlines if "replay token: " in ln).split()[-1]
    again = wasm_project.runpytest_subprocess("-p", "no:cacheprovider", "-k", "two_preemptions",
                                              f"--wasm-replay={token}", timeout=CHILD_LIMIT_S)
    again.assert_outcomes(failed=1)
    again.stdout.fnmatch_lines(["*replayed; fuel mode, policy dfs*", "*both saw the other's flag*"])


def test_the_same_search_runs_from_the_command_line_option(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_search=TESTS.replace("preemption_bound=2, ", "").replace(
        "preemption_bound=1, ", ""))
    result = wasm_project.runpytest_subprocess("-s", "-p", "no:cacheprovider", "--wasm-preemption-bound=1",
                                               timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=2)  # at bound 1 the bug stays out of reach in both tests


REDUCTION_TESTS = f'''
import pytest

TWO_FLAGS = {str(GUESTS / "two_flags.wasm")!r}

@pytest.mark.wasm_settings(policy="dfs", preemption_bound=1, schedules=10_000)
def test_without_reduction(wasm_scheduler):
    wasm_scheduler.explore(TWO_FLAGS, reduction=False)
    print("STATEMENT", wasm_scheduler.records[-1].statement)

@pytest.mark.wasm_settings(policy="random")
def test_reduction_off_without_dfs_is_the_tests_error(wasm_scheduler):
    wasm_scheduler.explore(TWO_FLAGS, reduction=False)
'''


def test_explore_can_turn_the_searchs_reduction_off_and_says_so(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_search=REDUCTION_TESTS)
    result = wasm_project.runpytest_subprocess("-s", "-p", "no:cacheprovider", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*STATEMENT explored all * schedules with at most 1 preemption (reduction: none); no failure*"])
    result.stdout.fnmatch_lines(["*explore(reduction=False) turns off the dfs policy's sleep sets*"])
    result.stdout.no_fnmatch_line("*Traceback*")
