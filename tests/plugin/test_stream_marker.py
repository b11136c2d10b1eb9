"""`@pytest.mark.wasm_stream_sequence` in whole pytest sessions (subprocesses: a guest may hang)."""

from __future__ import annotations

from pathlib import Path

import pytest
from child_processes import CHILD_LIMIT_S

GUESTS = Path(__file__).resolve().parents[2] / "guests"

HEADER = f'''
import pathlib
import pytest

CORE = pathlib.Path({str(GUESTS / "streams")!r})
COMPONENTS = pathlib.Path({str(GUESTS / "components")!r})
LOOP = b"".join(b"line %03d\\n" % i for i in range(200))
'''


def test_the_correct_loop_passes_under_any_backpressure_and_mode(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(HEADER + '''
CASES = [pytest.param(where, preempt, marks=[pytest.mark.wasm_stream_sequence(budget=b, flush_steps=k),
                                               pytest.mark.wasm_settings(preempt=preempt)])
         for where in (CORE, COMPONENTS) for preempt in ("fuel", "os") for b, k in ((4096, 0), (3, 2), (1, 5))]

@pytest.mark.parametrize("where,preempt", CASES)
def test_loop(wasm_scheduler, where, preempt):
    outcome = wasm_scheduler.run(where / "stream_loop.wasm")
    assert outcome.extra["streams"].output("stdout") == LOOP
    assert wasm_scheduler.settings.preempt.value == preempt

@pytest.mark.wasm_stream_sequence(budget=3, flush_steps=2)
@pytest.mark.parametrize("where", [CORE, COMPONENTS])
def test_loop_output(wasm_scheduler, where):
    outcome = wasm_scheduler.run(where / "stream_loop.wasm")
    assert outcome.extra["streams"].output("stdout") == LOOP

@pytest.mark.wasm_stream_sequence(budget=7, flush_steps=3)
def test_c_component(wasm_scheduler):
    outcome = wasm_scheduler.explore(COMPONENTS / "stream_lines.wasm", schedules=2)
    assert outcome.stdout.count("\\n") == 300

@pytest.mark.wasm_stream_sequence(expect="((check-write write){2} flush subscribe poll ready)+", budget=5)
def test_expected_sequence(wasm_scheduler):
    wasm_scheduler.run(CORE / "stream_loop.wasm")
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=16)


VIOLATIONS = [
    # kind, guest, marker options, the violation, a line of its backtrace
    ("streams", "stream_no_flush", "", "unflushed-at-exit at event #402 on stdout", "guest backtrace: none"),
    ("streams", "stream_stale_pollable", "", "stale-pollable at event #6 on stdout", "at wait_stale ("),
    ("streams", "stream_beyond_permit", "budget=4", "write-beyond-permit at event #3 on stdout", "at write_line ("),
    ("streams", "stream_one_shot", "", "write-without-permit at event #9 on stdout", "at write_line ("),
    ("streams", "stream_busy_poll", "flush_steps=3", "busy-poll at event #7 on stdout", "at write_line ("),
    ("streams", "stream_ignores_error", "fail_after=50", "write-after-error at event #45 on stdout",
     "at write_line ("),
    ("components", "stream_stale_pollable", "", "stale-pollable at event #6 on stdout", "at wait_stale ("),
    ("components", "stream_one_shot", "", "write-without-permit at event #9 on stdout", "at write_line ("),
]


def test_a_violation_fails_the_test_with_index_stream_backtrace_and_history(pytester: pytest.Pytester) -> None:
    tests = "".join(f'''
@pytest.mark.wasm_stream_sequence({options})
def test_{kind}_{guest}(wasm_scheduler):
    wasm_scheduler.run(pathlib.Path({str(GUESTS / kind)!r}) / "{guest}.wasm")
''' for kind, guest, options, _, _ in VIOLATIONS)
    pytester.makepyfile(HEADER + tests)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=len(VIOLATIONS))
    for kind, guest, _, violation, where in VIOLATIONS:
        result.stdout.fnmatch_lines([
            f"*_ test_{kind}_{guest} _*",
            f"*GuestCheckError: wasm_stream_sequence: stream protocol violation: {violation}*",
            f"*{where}*",
            "*stream history (*",
        ])


def test_an_unexpected_sequence_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(HEADER + '''
@pytest.mark.wasm_stream_sequence(expect=["check-write(4096)", "write(9)", "flush"])
def test_guest(wasm_scheduler):
    wasm_scheduler.run(CORE / "stream_loop.wasm")
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        ("*stream sequence mismatch: stdout: event #5 (subscribe, the 4th stdout event) does not match the "
         "pattern; expected the end*"),
    ])


@pytest.mark.parametrize("guest", ["streams/stream_loop.wasm", "components/stream_lines.wasm"])
def test_the_lost_wakeup_hang_is_reported_never_a_stuck_test(pytester: pytest.Pytester, guest: str) -> None:
    pytester.makepyfile(HEADER + f'''
@pytest.mark.wasm_stream_sequence(lost_wakeup=True, flush_steps=2)
def test_guest(wasm_scheduler):
    wasm_scheduler.run(pathlib.Path({str(GUESTS)!r}) / "{guest}")
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*GuestHangError: wasm_stream_sequence: a guest execution deadlocked*",
        "*the guest deadlocked with its streams in this state: thread 0 (main) in *lost wake-up fault*",
        "*stream history (*lost wake-up fault*",
        "*deadlock! every live guest thread*",
        "*thread 0 (main): parked in *",
    ])


MISUSES = [
    ("bogus=1", "got an unknown argument 'bogus'"),
    ("budget=0", "(budget=0): expected a whole number >= 1"),
    ("expect='(write'", "(expect='(write'): missing ')'"),
    ("'a', 'b'", "takes at most 1 positional argument"),
]


def test_a_misused_marker_is_the_tests_own_error(pytester: pytest.Pytester) -> None:
    tests = "".join(f'''
@pytest.mark.wasm_stream_sequence({args})
def test_misuse_{i}(wasm_scheduler):
    pass
''' for i, (args, _) in enumerate(MISUSES))
    pytester.makepyfile("import pytest\n" + tests + "\ndef test_other():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=1, errors=len(MISUSES))
    for _, message in MISUSES:
        result.stdout.fnmatch_lines([f"*@pytest.mark.wasm_stream_sequence*{message}*"])
