"""wasm_no_hang: a deadlock or a hang fails the test with the report; the guest ends, the worker lives."""

from __future__ import annotations

import pytest
from child_processes import CHILD_LIMIT_S
from plugin_helpers import replay_flag

NO_HANG_TESTS = '''
import pytest

@pytest.mark.wasm_no_hang
def test_deadlocking_guest(wasm_scheduler, guest):
    wasm_scheduler.run(guest("park"))

# No step budget to speak of: in fuel mode it would end the spin first; this one is about the wall clock.
@pytest.mark.wasm_no_hang(timeout=1, max_steps=10**15)
def test_spinning_guest(wasm_scheduler, guest):
    wasm_scheduler.run(guest("spin"))

@pytest.mark.wasm_no_hang
def test_a_guest_that_ends_passes(wasm_scheduler, guest):
    assert wasm_scheduler.run(guest("hello")).stdout == "hello\\n"

def test_the_process_is_still_fine_afterwards(wasm_scheduler, guest):
    assert wasm_scheduler.run(guest("mutex_counter")).exit_code == 0
'''


@pytest.mark.parametrize("mode", ["fuel", "epoch", "os"])
def test_deadlock_and_hang_fail_their_tests_and_the_session_goes_on(wasm_project: pytest.Pytester,
                                                                   mode: str) -> None:
    wasm_project.makepyfile(test_hangs=NO_HANG_TESTS)
    result = wasm_project.runpytest_subprocess(f"--wasm-preempt={mode}", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=2, passed=2)
    result.stdout.fnmatch_lines([
        "*GuestHangError: wasm_no_hang: a guest execution deadlocked",
        "*guests/park.wasm: deadlock (*",
        "*deadlock! every live guest thread of *park.wasm is blocked and nothing can wake them",
        f"*guest threads ({mode} mode,*",
        "*thread 0 (main): parked in memory.atomic.wait32*",
        "*at wait_forever*",
    ])
    result.stdout.fnmatch_lines([
        "*GuestHangError: wasm_no_hang: a guest execution hung",
        "*hang: * 1 s*",
        "*thread 1: running*",
        "*at spin_forever*",
        "*(the wall-clock backstop of 1 s was reached: raise it with --wasm-timeout=SECONDS *",
    ])


def test_a_deadlock_in_fuel_mode_names_the_replay_flag(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_hangs=NO_HANG_TESTS)
    result = wasm_project.runpytest_subprocess("-k", "deadlocking", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    flag = replay_flag(result.stdout.str())
    result.stdout.fnmatch_lines([f"*replay: pytest test_hangs.py::test_deadlocking_guest {flag}"])


def test_an_exploration_stops_at_the_first_deadlocking_schedule(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_locks='''
import pytest

@pytest.mark.wasm_no_hang
def test_lock_order(wasm_scheduler, guest):
    wasm_scheduler.explore(guest("lock_order"), schedules=200)
''')
    result = wasm_project.runpytest_subprocess("--wasm-seed=1", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*GuestHangError: wasm_no_hang: a guest execution deadlocked",
        "*lock_order.wasm: deadlock (schedule * failed after * of 200 schedules; fuel mode, policy random, seed 1)",
        "*at pthread_mutex_lock*",
        "*at thread_ab*",
        "*at thread_ba*",
    ])


def test_marker_misuse_is_that_tests_error(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_misuse='''
import pytest

@pytest.mark.wasm_no_hang(timeout="soon")
def test_bad_timeout(wasm_scheduler):
    pass

@pytest.mark.wasm_settings(preempt="fast")
def test_bad_mode(wasm_scheduler):
    pass

@pytest.mark.wasm_settings(seeds=3)
def test_typo(wasm_scheduler):
    pass

def test_fine(wasm_scheduler):
    pass
''')
    result = wasm_project.runpytest()
    result.assert_outcomes(errors=3, passed=1)
    result.stdout.fnmatch_lines([
        "*@pytest.mark.wasm_no_hang(timeout='soon'): expected positive seconds*",
        "*@pytest.mark.wasm_settings(preempt='fast'): invalid value (valid: fuel, epoch, os)",
        ("*@pytest.mark.wasm_settings got an unknown argument 'seeds' (valid: preempt, policy, seed, slice, "
         "depth, level, max_steps, timeout, schedules, preemption_bound, shrink_time, shards)"),
    ])
    assert "During handling" not in result.stdout.str()  # one message, no chained traceback
