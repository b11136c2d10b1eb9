"""--wasm-trace-dir writes each failing test's timeline (trace JSON and HTML page) and the report names them."""

from __future__ import annotations

import json

import pytest
from child_processes import CHILD_LIMIT_S

TESTS = '''
import pytest

def test_counter(wasm_scheduler, guest):
    o = wasm_scheduler.explore(guest("lost_update"), schedules=300, check=False)  # the test's own assert
    assert o.exit_code == 0

@pytest.mark.wasm_settings(preempt="fuel", seed=4)
@pytest.mark.wasm_no_hang
@pytest.mark.xfail(strict=True, reason="lock_order.c deadlocks")
def test_deadlock(wasm_scheduler, guest):
    wasm_scheduler.explore(guest("lock_order"))

def test_ok(wasm_scheduler, guest):
    assert wasm_scheduler.run(guest("hello")).exit_code == 0
'''


def test_failing_and_xfailed_tests_get_a_timeline_named_in_the_report(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_guests=TESTS)
    result = wasm_project.runpytest_subprocess("--wasm-trace-dir=traces", "--wasm-seed=3", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1, passed=1, xfailed=1)
    result.stdout.fnmatch_lines([
        "wasmconc: guest traces and timelines of failing tests' guest executions go to traces",
        "*- wasm guest report -*",
        "trace: traces/test_guests.py_test_counter.txt",
        ("timeline: traces/test_guests.py_test_counter.trace.json (Chrome trace events: Perfetto, chrome://tracing), "
         "traces/test_guests.py_test_counter.timeline.html (open in a browser)"),
    ])
    traces = wasm_project.path / "traces"
    assert sorted(p.name for p in traces.iterdir()) == [
        f"test_guests.py_test_{name}{suffix}" for name in ("counter", "deadlock")
        for suffix in (".timeline.html", ".trace.json", ".txt")]
    doc = json.loads((traces / "test_guests.py_test_deadlock.trace.json").read_text())
    assert "deadlock: every live thread is blocked" in doc["otherData"]["failure"]
    counter = json.loads((traces / "test_guests.py_test_counter.trace.json").read_text())
    assert counter["otherData"]["summary"] == "exited with code 1" and counter["otherData"]["failed"]
    assert "thread 2" in (traces / "test_guests.py_test_counter.timeline.html").read_text()


def test_trace_schedules_all_gives_passing_tests_a_timeline_too(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_ok='''
def test_ok(wasm_scheduler, guest):
    assert wasm_scheduler.run(guest("hello")).exit_code == 0

def test_explored(wasm_scheduler, guest):
    assert wasm_scheduler.explore(guest("mutex_counter"), args=["5"], schedules=3).exit_code == 0
''')
    wasm_project.makeini("[pytest]\nwasm_trace_schedules = all\n")
    result = wasm_project.runpytest_subprocess("--wasm-trace-dir=out", "-rA", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["wasmconc: guest traces and timelines of every test's guest executions go to out",
                                 "timeline: out/test_ok.py_test_ok.trace.json *"])
    names = sorted(p.name for p in (wasm_project.path / "out").iterdir())
    assert names == ["test_ok.py_test_explored.timeline.html", "test_ok.py_test_explored.trace.json",
                     "test_ok.py_test_ok.timeline.html", "test_ok.py_test_ok.trace.json"]
    doc = json.loads((wasm_project.path / "out" / "test_ok.py_test_explored.trace.json").read_text())
    assert not doc["otherData"]["failed"]
    assert {ev["tid"] for ev in doc["traceEvents"] if ev["name"] == "thread_name"} == {0, 1, 2}
