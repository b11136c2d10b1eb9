"""The fixtures take .wat guests as they take .wasm ones: run, explore, compile, replay; bad text is GuestLoadError."""

from __future__ import annotations

from pathlib import Path

import pytest
from child_processes import CHILD_LIMIT_S
from plugin_helpers import replay_flag

WAT = Path(__file__).resolve().parents[2] / "guests" / "wat"

TESTS = f'''
import pathlib
import pytest
from pytest_wasmconc.plugin import GuestLoadError

WAT = pathlib.Path({str(WAT)!r})
BROKEN = pathlib.Path(__file__).parent / "broken.wat"

def test_run(wasm_scheduler):
    o = wasm_scheduler.run(WAT / "single_hello.wat")
    assert (o.status, o.exit_code, o.stdout) == ("exited", 0, "hello\\n")

def test_explore(wasm_scheduler):
    o = wasm_scheduler.explore(WAT / "single_hello.wat", schedules=3)
    assert o.stdout == "hello\\n"

def test_compile(wasm_scheduler):
    program = wasm_scheduler.compile(str(WAT / "single_hello.wat"))
    assert wasm_scheduler.run(program).stdout == "hello\\n"

def test_malformed(wasm_scheduler):
    with pytest.raises(GuestLoadError) as info:
        wasm_scheduler.run(BROKEN)
    assert str(info.value) == f"{{BROKEN}}:2:4: invalid WebAssembly text: expected valid module field"

@pytest.mark.wasm_no_hang
def test_deadlock(wasm_scheduler):
    wasm_scheduler.explore(WAT / "deadlock_forever.wat", schedules=3)
'''


def test_fixtures_run_explore_compile_and_replay_wat_guests(pytester: pytest.Pytester) -> None:
    (pytester.path / "broken.wat").write_text("(module\n  (oops))\n")
    pytester.makepyfile(test_wat=TESTS)
    first = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=CHILD_LIMIT_S)
    first.assert_outcomes(passed=4, failed=1)
    first.stdout.fnmatch_lines(["*deadlock!*deadlock_forever.wat*"])
    flag = replay_flag(first.stdout.str())

    again = pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_wat.py::test_deadlock", flag,
                                          timeout=CHILD_LIMIT_S)
    again.assert_outcomes(failed=1)
    again.stdout.fnmatch_lines([f"wasmconc: replaying {flag} (fuel mode*", "*deadlock!*deadlock_forever.wat*"])
