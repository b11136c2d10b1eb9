"""pytest-timeout: guests end before the test's timeout, so failures show the guest report."""

from __future__ import annotations

import pytest
from child_processes import CHILD_LIMIT_S

STUCK = '''
import pytest

def test_stuck_guest(wasm_scheduler, guest):
    o = wasm_scheduler.run(guest("spin"), check=False)  # the test's own assert: a report section
    assert o.status == "exited"

@pytest.mark.wasm_no_hang
def test_stuck_guest_no_hang(wasm_scheduler, guest):
    wasm_scheduler.run(guest("spin"))

def test_next(wasm_scheduler, guest):
    assert wasm_scheduler.run(guest("hello")).exit_code == 0
'''


# No step budget: in fuel mode it would end the spinning guest first, and the test is about the wall clock.
@pytest.mark.parametrize(
    "args",
    [
        ["--timeout=5", "--timeout-method=thread", "-n", "2", "--wasm-max-steps=none"],
        ["--timeout=5", "--timeout-method=thread", "--wasm-max-steps=none"],
        ["--timeout=5", "--timeout-method=signal", "--wasm-max-steps=none"],
    ],
    ids=["thread-n2", "thread", "signal"],
)
def test_a_guest_stuck_in_a_loop_shows_the_guest_report_not_a_crash(wasm_project: pytest.Pytester,
                                                                     args: list[str]) -> None:
    wasm_project.makepyfile(test_stuck=STUCK)
    result = wasm_project.runpytest_subprocess(*args, timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=2, passed=1)
    text = result.stdout.str()
    assert "crashed" not in text
    assert "Timeout" not in text
    result.stdout.fnmatch_lines([
        "*- wasm guest report -*",
        "*spin.wasm: hang (fuel mode*",
        "hang: * s*",
        "  thread 1: running",
        "      at spin_forever*",
        "(the plugin ended this guest before the test's pytest-timeout of 5 s)",
    ])
    result.stdout.fnmatch_lines(["*GuestHangError: wasm_no_hang: a guest execution hung"])


@pytest.mark.parametrize("mode", ["epoch", "os"])
def test_other_modes_end_stuck_guests_before_the_timeout_too(wasm_project: pytest.Pytester, mode: str) -> None:
    wasm_project.makepyfile(test_stuck=STUCK)
    result = wasm_project.runpytest_subprocess(f"--wasm-preempt={mode}", "--timeout=3", "--timeout-method=thread",
                                               "-n", "2", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=2, passed=1)
    assert "crashed" not in result.stdout.str()
    result.stdout.fnmatch_lines([f"*spin.wasm: hang ({mode} mode*", "      at spin_forever*"])


def test_a_long_exploration_stops_before_the_timeout_with_a_warning(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_long='''
def test_long(wasm_scheduler, guest):
    o = wasm_scheduler.explore(guest("mutex_counter"), schedules=100000)
    assert o.exit_code == 0
''')
    result = wasm_project.runpytest_subprocess("--timeout=6", "--timeout-method=thread", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines([("*WasmconcWarning: explored only * of 100000 schedules of *mutex_counter.wasm: "
                                 "the test's pytest-timeout of 6 s was near")])


def test_a_test_stuck_outside_the_guest_still_gets_its_guest_report_when_the_worker_is_killed(
        wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_sleepy='''
import time

def test_sleepy(wasm_scheduler, guest):
    wasm_scheduler.run(guest("exit3"), check=False)
    time.sleep(60)
''')
    # 10 s: room for the guest run before the sleep even on a busy machine (the report must
    # find no guest running); the sleep outlasts it by far.
    result = wasm_project.runpytest_subprocess("--timeout=10", "--timeout-method=thread", "-n", "2",
                                               timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*pytest-wasmconc: test_sleepy.py::test_sleepy reached its pytest-timeout of 10 s",
        "*no guest execution was running (the test is stuck outside the guest)",
        "*exit3.wasm: exited with code 3*",
        "*replay: pytest test_sleepy.py::test_sleepy --wasm-replay=wc1-*",
    ])
