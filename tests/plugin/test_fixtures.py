"""The fixtures, used the way a user would, under every preemption mode, with and without xdist."""

from __future__ import annotations

import pytest
from child_processes import CHILD_LIMIT_S

USER_TESTS = '''
import threading
import pytest
from pytest_wasmconc.runtime import StoreThreadError

def test_a_guest_that_exits(wasm_scheduler, guest):
    o = wasm_scheduler.run(guest("hello"))
    assert (o.status, o.exit_code, o.stdout, o.stderr) == ("exited", 0, "hello\\n", "")

def test_an_exit_code(wasm_scheduler, guest):
    o = wasm_scheduler.run(guest("exit3"), expect_exit=3)
    assert (o.status, o.exit_code) == ("exited", 3)

def test_a_trap_names_the_function(wasm_scheduler, guest):
    o = wasm_scheduler.run(guest("trap"), expect="trapped")
    assert o.status == "trapped" and o.exit_code is None
    assert "explode" in o.report

def test_a_deadlock(wasm_scheduler, guest):
    o = wasm_scheduler.run(guest("park"), expect="deadlock")
    assert o.status == "deadlock"
    assert "wait_forever" in o.report

@pytest.mark.timeout(5)  # the plugin's margin is 2 s from 4 s up: time to stop and report on a busy machine
def test_a_hang_is_ended_before_the_tests_timeout(wasm_scheduler, guest):
    o = wasm_scheduler.run(guest("spin"), expect="hang")
    assert o.status == "hang"
    assert "spin_forever" in o.report

def test_args_and_stdin(wasm_scheduler, guest):
    assert wasm_scheduler.run(guest("echo"), stdin=b"ping").stdout == "ping"
    assert wasm_scheduler.run(guest("producer_consumer"), args=["10", "2"]).stdout == "sum=55\\n"

def test_bytes_and_compiled_modules(wasm_scheduler, guest):
    program = wasm_scheduler.compile(guest("hello"))
    assert wasm_scheduler.run(program).stdout == "hello\\n"
    assert wasm_scheduler.run(guest("hello").read_bytes()).stdout == "hello\\n"

def test_explore_returns_the_last_outcome_when_all_pass(wasm_scheduler, guest):
    o = wasm_scheduler.explore(guest("mutex_counter"), schedules=5)
    assert (o.status, o.exit_code, o.stdout) == ("exited", 0, "counter=100\\n")
    record = wasm_scheduler.records[-1]
    assert (record.schedules_run, record.schedule_index) == (5, None)

def test_explore_returns_the_first_failing_outcome(wasm_scheduler, guest):
    o = wasm_scheduler.explore(guest("exit3"), schedules=5, check=False)
    assert o.exit_code == 3
    assert wasm_scheduler.records[-1].schedules_run == 1
    o = wasm_scheduler.explore(guest("exit3"), schedules=5, expect_exit=3)
    assert wasm_scheduler.records[-1].schedules_run == 5

@pytest.mark.wasm_settings(preempt="fuel")
def test_explore_finds_a_lost_update_in_fuel_mode(wasm_scheduler, guest):
    o = wasm_scheduler.explore(guest("lost_update"), schedules=200, check=False)
    assert o.exit_code == 1
    assert o.token is not None

def test_the_sandbox_is_the_guests_dot(wasm_scheduler, wasi_sandbox, guest, tmp_path):
    assert wasi_sandbox.root.is_relative_to(tmp_path)
    wasi_sandbox.write_text("test.txt", "from the host\\n")
    o = wasm_scheduler.run(guest("thread_file"), sandbox=wasi_sandbox)
    assert o.stdout == "from the host\\n"
    assert wasi_sandbox.stdout == o.stdout
    assert wasi_sandbox.written == {}

def test_an_extra_preopen(wasm_scheduler, wasi_sandbox):
    host = wasi_sandbox.preopen("/data")
    assert wasi_sandbox.host_path("/data/x.txt") == host / "x.txt"
    assert wasi_sandbox.host_path("x.txt") == wasi_sandbox.root / "x.txt"

def test_the_store_belongs_to_its_thread(wasm_store, wasm_engine):
    errors = []
    t = threading.Thread(target=lambda: errors.append(pytest.raises(StoreThreadError, wasm_store.gc)))
    t.start(); t.join()
    assert errors

def test_one_engine_per_process(wasm_engine, request):
    assert request.getfixturevalue("wasm_engine") is wasm_engine
'''


@pytest.mark.parametrize("mode", ["fuel", "epoch", "os"])
@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "n2"])
def test_user_tests_pass_under_every_mode(wasm_project: pytest.Pytester, mode: str, xdist: list[str]) -> None:
    wasm_project.makepyfile(test_user=USER_TESTS)
    result = wasm_project.runpytest_subprocess(f"--wasm-preempt={mode}", *xdist, timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=USER_TESTS.count("\ndef test_"))


def test_a_bad_guest_is_one_line_naming_the_file_without_plugin_frames(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_bad='''
def test_not_wasm(wasm_scheduler, tmp_path):
    bad = tmp_path / "notes.wasm"
    bad.write_text("hello")
    wasm_scheduler.run(bad)
''')
    result = wasm_project.runpytest_subprocess(timeout=CHILD_LIMIT_S)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*GuestLoadError: *notes.wasm: not a WebAssembly module (no \\0asm header)"])
    assert "pytest_wasmconc/" not in result.stdout.str()
