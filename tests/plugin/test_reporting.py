"""Failure reports: a guest report section, the replay command, plugin frames hidden, trace files."""

from __future__ import annotations

import re

import pytest
from child_processes import CHILD_LIMIT_S

LOST_UPDATE = '''
def test_counter(wasm_scheduler, guest):
    o = wasm_scheduler.explore(guest("lost_update"), schedules=300, check=False)  # the test's own assert
    assert o.exit_code == 0
'''


def test_a_failing_test_gets_a_guest_report_section_with_the_replay_command(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_counter=LOST_UPDATE)
    result = wasm_project.runpytest_subprocess("--wasm-seed=3", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*- wasm guest report -*",
        ("*lost_update.wasm: exited with code 1 (expected exit code 0) (schedule * failed after * of 300 schedules; "
        "fuel mode, policy random, seed 3)"),
        "outcomes explored: *exited with code 1 x1*",
        "guest stdout:",
        "  counter=*",
        "replay token: wc1-*",
        "replay: pytest test_counter.py::test_counter --wasm-replay=wc1-*",
    ])


def test_a_passing_test_has_no_report(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_ok='''
def test_ok(wasm_scheduler, guest):
    assert wasm_scheduler.run(guest("hello")).exit_code == 0
''')
    result = wasm_project.runpytest_subprocess("-rA", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=1)
    assert "wasm guest report" not in result.stdout.str()


@pytest.mark.parametrize("mode", ["epoch", "os"])
def test_without_a_token_the_report_says_how_to_get_a_replayable_schedule(wasm_project: pytest.Pytester,
                                                                          mode: str) -> None:
    wasm_project.makepyfile(test_exit='''
def test_exit(wasm_scheduler, guest):
    assert wasm_scheduler.run(guest("exit3"), check=False).exit_code == 0
''')
    result = wasm_project.runpytest_subprocess(f"--wasm-preempt={mode}", "--wasm-seed=8", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        (f"replay: not available: {mode} mode is not deterministic; for a replayable schedule run "
        "pytest test_exit.py::test_exit --wasm-preempt=fuel --wasm-policy=random --wasm-seed=8"),
    ])


def test_plugin_frames_are_hidden_from_tracebacks(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_hang='''
import pytest

@pytest.mark.wasm_no_hang
def test_hang(wasm_scheduler, guest):
    wasm_scheduler.run(guest("park"))
''')
    result = wasm_project.runpytest_subprocess("--tb=long", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "pytest_wasmconc/" not in text
    assert "test_hang.py:5: GuestHangError" in text


def test_the_replay_command_is_valid_from_where_pytest_was_started(wasm_project: pytest.Pytester,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    wasm_project.makeini("[pytest]\n")
    sub = wasm_project.mkpydir("suite")
    (sub / "test_exit.py").write_text('''
def test_exit(wasm_scheduler, guest):
    assert wasm_scheduler.run(guest("exit3"), check=False).exit_code == 0
''')
    (sub / "conftest.py").write_text("")
    top = wasm_project.runpytest_subprocess(timeout=CHILD_LIMIT_S)
    top.stdout.fnmatch_lines(["replay: pytest suite/test_exit.py::test_exit --wasm-replay=*"])
    monkeypatch.chdir(sub)
    inner = wasm_project.runpytest_subprocess(timeout=CHILD_LIMIT_S)
    inner.stdout.fnmatch_lines(["replay: pytest test_exit.py::test_exit --wasm-replay=*"])


def test_the_trace_dir_gets_a_file_per_failing_test(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_exit='''
def test_exit(wasm_scheduler, guest):
    assert wasm_scheduler.run(guest("exit3"), check=False).exit_code == 0

def test_ok(wasm_scheduler, guest):
    assert wasm_scheduler.run(guest("hello")).exit_code == 0
''')
    result = wasm_project.runpytest_subprocess("--wasm-trace-dir=traces", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["wasmconc: guest traces and timelines of failing tests' guest executions go to "
                                 "traces"])
    files = sorted(p.name for p in (wasm_project.path / "traces").iterdir())
    assert files == ["test_exit.py_test_exit.timeline.html", "test_exit.py_test_exit.trace.json",
                     "test_exit.py_test_exit.txt"]
    text = (wasm_project.path / "traces" / "test_exit.py_test_exit.txt").read_text()
    assert "exit3.wasm: exited with code 3" in text
    assert "replay: pytest test_exit.py::test_exit --wasm-replay=wc1-" in text
    assert "proc_exit(3) -> exit(3)" in text  # the WASI call trace
    (heading,) = [ln for ln in text.splitlines() if "WASI calls" in ln]
    assert re.fullmatch(r"--- the last \d+ WASI calls, oldest first ---", heading), heading
