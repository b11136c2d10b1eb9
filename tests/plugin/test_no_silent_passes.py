"""No silent passes: run()/explore() fail the test on an unexpected ending; a marker that cannot act errors.

Whole sessions in a subprocess: the guests trap, deadlock and hang.
"""

from __future__ import annotations

import pytest
from child_processes import CHILD_LIMIT_S
from plugin_helpers import C_GUESTS

EXPECTATIONS = '''
import pytest
from pytest_wasmconc.plugin import GuestOutcomeError
from pytest_wasmconc.runtime import Status

def test_run_exit3_fails(wasm_scheduler, guest):
    wasm_scheduler.run(guest("exit3"))

def test_run_exit3_expected(wasm_scheduler, guest):
    assert wasm_scheduler.run(guest("exit3"), expect_exit=3).exit_code == 3

def test_run_any_exit(wasm_scheduler, guest):
    wasm_scheduler.run(guest("exit3"), expect_exit=None)

def test_run_trap_fails(wasm_scheduler, guest):
    wasm_scheduler.run(guest("trap"))

def test_run_trap_expected(wasm_scheduler, guest):
    wasm_scheduler.run(guest("trap"), expect="trapped")

def test_run_deadlock_expected_as_the_enum(wasm_scheduler, guest):
    wasm_scheduler.run(guest("park"), expect=Status.DEADLOCK)

def test_run_hello_expected_to_hang_fails(wasm_scheduler, guest):
    wasm_scheduler.run(guest("hello"), expect="hang")

def test_run_unchecked(wasm_scheduler, guest):
    outcome = wasm_scheduler.run(guest("park"), check=False)
    assert outcome.status == "deadlock"

def test_explore_fails(wasm_scheduler, guest):
    wasm_scheduler.explore(guest("exit3"), schedules=3)

def test_explore_expected(wasm_scheduler, guest):
    wasm_scheduler.explore(guest("exit3"), schedules=3, expect_exit=3)

def test_explore_unchecked_returns_the_first_failure(wasm_scheduler, guest):
    outcome = wasm_scheduler.explore(guest("lost_update"), schedules=200, check=False)
    assert outcome.exit_code == 1
    assert wasm_scheduler.records[-1].schedule_index is not None

def test_raises_as_outcome_error(wasm_scheduler, guest):
    with pytest.raises(GuestOutcomeError, match="expected exit code 0, got trapped"):
        wasm_scheduler.run(guest("trap"))

def test_bad_expect(wasm_scheduler, guest):
    wasm_scheduler.run(guest("hello"), expect="crashed")

def test_bad_expect_exit(wasm_scheduler, guest):
    wasm_scheduler.explore(guest("hello"), expect_exit="0")
'''


def _outcomes(result: pytest.RunResult) -> dict[str, str]:
    """test name -> PASSED/FAILED/ERROR, from -rA's short summary."""
    got = {}
    for line in result.outlines:
        for word in ("PASSED", "FAILED", "ERROR"):
            if line.startswith(word + " ") and "::" in line:
                got[line.split("::")[1].split()[0]] = word
    return got


def test_an_unexpected_ending_fails_the_test_and_expect_or_check_false_say_otherwise(
        wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_expect=EXPECTATIONS)
    result = wasm_project.runpytest_subprocess("-p", "no:cacheprovider", "-rA", "--wasm-policy=random",
                                               timeout=CHILD_LIMIT_S)
    assert _outcomes(result) == {
        "test_run_exit3_fails": "FAILED", "test_run_exit3_expected": "PASSED", "test_run_any_exit": "PASSED",
        "test_run_trap_fails": "FAILED", "test_run_trap_expected": "PASSED",
        "test_run_deadlock_expected_as_the_enum": "PASSED", "test_run_hello_expected_to_hang_fails": "FAILED",
        "test_run_unchecked": "PASSED", "test_explore_fails": "FAILED", "test_explore_expected": "PASSED",
        "test_explore_unchecked_returns_the_first_failure": "PASSED", "test_raises_as_outcome_error": "PASSED",
        "test_bad_expect": "FAILED", "test_bad_expect_exit": "FAILED",
    }
    result.stdout.fnmatch_lines([
        "*GuestOutcomeError: wasm_scheduler.run() expected exit code 0, got exited with code 3 (expect=/expect_exit= "
        "state another ending; check=False returns the outcome instead)",
        "*exit3.wasm: exited with code 3 (expected exit code 0) (fuel mode, policy random, seed *)",
    ])
    result.stdout.fnmatch_lines(["*wasm_scheduler.run() expected exit code 0, got trapped in thread 0: *"])
    result.stdout.fnmatch_lines(["*wasm_scheduler.run() expected a hang, got exited with code 0*",
                                 "*hello.wasm: exited with code 0 (expected a hang)*"])
    result.stdout.fnmatch_lines(["*wasm_scheduler.explore() expected exit code 0, got exited with code 3*",
                                 "*(schedule 0 failed after 1 of 3 schedules; *",
                                 "*replay: pytest test_expect.py::test_explore_fails --wasm-replay=wc1-*"])
    result.stdout.fnmatch_lines(
        ["*ConfigError: run(expect='crashed'): expected one of exited, trapped, deadlock, hang"])
    result.stdout.fnmatch_lines(["*ConfigError: explore(expect_exit='0'): expected an exit code (int) or None"])


def test_a_marker_on_a_test_without_the_scheduler_errors_it_at_setup(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
import pytest

pytestmark = pytest.mark.wasm_settings(schedules=5)  # module-wide: applies where it can

@pytest.mark.wasm_no_hang
def test_no_hang_alone():
    pass

@pytest.mark.wasm_settings(seed=3)
@pytest.mark.wasm_no_data_race
def test_two_markers(tmp_path):
    pass

def test_plain():
    pass

@pytest.mark.wasm_no_hang
def test_with_scheduler(wasm_scheduler):
    pass
''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines([
        "*ERROR at setup of test_no_hang_alone*",
        "@pytest.mark.wasm_no_hang acts on the guest executions of the wasm_scheduler fixture, which this test does "
        "not use: it would check nothing (use wasm_scheduler to run the guest, or remove the marker)",
    ])
    result.stdout.fnmatch_lines(["@pytest.mark.wasm_no_data_race, @pytest.mark.wasm_settings acts on the guest *"])


def test_a_stream_marker_on_a_guest_without_observed_streams_fails_saying_why(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(f'''
import pytest

@pytest.mark.wasm_stream_sequence(expect="write+")
def test_streams(wasm_scheduler):
    wasm_scheduler.run({str(C_GUESTS / "mutex_counter.wasm")!r})
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*@pytest.mark.wasm_stream_sequence: */mutex_counter.wasm imports no observed stream (no wasmconc_streams "
        "function; a component's wasi:io streams are observed), so there is nothing to check",
    ])
