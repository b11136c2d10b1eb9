"""Markers: registered with their signatures, clean under --strict-markers."""

from __future__ import annotations

import pytest
from child_processes import CHILD_LIMIT_S


def test_every_marker_is_registered_with_its_signature(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines_random([
        ("@pytest.mark.wasm_settings(*, preempt=None, policy=None, seed=None, slice=None, depth=None, level=None, "
         "max_steps=None, timeout=None, schedules=None, preemption_bound=None, shrink_time=None, shards=None):*"),
        "@pytest.mark.wasm_no_hang(timeout=None, max_steps=None):*",
        "@pytest.mark.wasm_no_lock_inversion(*, table=None, extra=None):*",
        ("@pytest.mark.wasm_stream_sequence(expect=None, *, budget=4096, flush_steps=0, lost_wakeup=False, "
         "fail_after=None, busy_poll=3):*"),
    ])


def test_the_markers_are_clean_under_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
import pytest

# On the module: on a test function that does not use wasm_scheduler, a marker errors the test.
pytestmark = [pytest.mark.wasm_settings(preempt="fuel"), pytest.mark.wasm_no_hang(timeout=5, max_steps=1000),
              pytest.mark.wasm_no_lock_inversion, pytest.mark.wasm_stream_sequence("open", "write")]

def test_marked():
    pass
''')
    result = pytester.runpytest("--strict-markers")
    result.assert_outcomes(passed=1)


def test_max_steps_of_wasm_no_hang_bounds_each_execution(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
import pytest

@pytest.mark.wasm_no_hang(max_steps=1234, timeout=7)
def test_bounds(wasm_scheduler):
    assert wasm_scheduler.settings.max_steps == 1234
    assert wasm_scheduler.settings.timeout == 7
''')
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_registered_check_sees_every_outcome(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('''
from pytest_wasmconc.pytest_layer import GuestCheckError, register_check

class ExitCodeCheck:
    def __init__(self, item, mark):
        self.forbidden = mark.args[0]
    def adjust(self, settings):
        return settings
    def host_functions(self):
        return ()
    def inspect(self, outcome):
        if outcome.exit_code == self.forbidden:
            return GuestCheckError(f"exit code {self.forbidden} is forbidden")
        return None

register_check("wasm_stream_sequence", ExitCodeCheck)
''')
    pytester.makepyfile('''
import pytest, wasmtime

EXIT3 = wasmtime.wat2wasm("""(module (import "wasi_snapshot_preview1" "proc_exit" (func $e (param i32)))
  (memory (export "memory") 1) (func (export "_start") (call $e (i32.const 3))))""")

@pytest.mark.wasm_stream_sequence(3)
def test_marked(wasm_scheduler):
    wasm_scheduler.run(EXIT3)
''')
    result = pytester.runpytest_subprocess(timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*GuestCheckError: exit code 3 is forbidden", "*<bytes>: exited with code 3*"])
