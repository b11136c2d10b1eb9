"""The crash log: a test process killed mid-guest leaves which test, which schedule and its replay command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import wasmtime

from child_processes import CHILD_LIMIT_S
from pytest_wasmconc.runtime import decode_token
from pytest_wasmconc.schedulers import derive_seed

# A guest that calls the host function host.boom once: the test's import decides what that does.
BOOM_WAT = """
(module
  (import "host" "boom" (func $boom))
  (memory (export "memory") 1)
  (func (export "_start") (call $boom)))
"""

# The third execution of test_dies (schedule 2 of its exploration) kills its own process while the
# guest is inside host.boom: what the OOM killer does, mid-execution.
KILLING = '''
import os
import signal

import pytest

CALLS = []

def make_imports():
    def boom() -> None:
        CALLS.append(1)
        if len(CALLS) == 3:
            os.kill(os.getpid(), signal.SIGKILL)
    return {"host": {"boom": boom}}

def test_dies(wasm_scheduler, guest):
    wasm_scheduler.explore(guest("boom"), schedules=5, imports=make_imports)

@pytest.mark.parametrize("i", range(3))
def test_fine(wasm_scheduler, guest, i):
    assert wasm_scheduler.run(guest("hello")).exit_code == 0
'''

PASSING = '''
import pytest

@pytest.mark.parametrize("i", range(4))
def test_counter(wasm_scheduler, guest, i):
    assert wasm_scheduler.explore(guest("mutex_counter"), schedules=3).exit_code == 0
'''

FAILING = '''
def test_exit3(wasm_scheduler, guest):
    assert wasm_scheduler.explore(guest("exit3"), schedules=3).exit_code == 0

def test_hello(wasm_scheduler, guest):
    assert wasm_scheduler.run(guest("hello")).exit_code == 0
'''


@pytest.fixture
def crash_project(wasm_project: pytest.Pytester) -> pytest.Pytester:
    (wasm_project.path / "guests" / "boom.wasm").write_bytes(wasmtime.wat2wasm(BOOM_WAT))
    return wasm_project


def default_dir(pytester: pytest.Pytester) -> Path:
    return pytester.path / ".pytest_cache" / "d" / "wasmconc"


def fields(path: Path) -> dict[str, str]:
    """A crash file's `key: value` lines (up to its end marker)."""
    assert path.is_file(), f"no crash log {path}; found {sorted(p.name for p in path.parent.glob('*'))}"
    out: dict[str, str] = {}
    for line in path.read_text().split("# end")[0].splitlines():
        key, sep, value = line.partition(": ")
        if sep and not key.startswith("#"):
            out.setdefault(key, value)
    return out


def header_seed(result: pytest.RunResult) -> int:
    header = next(ln for ln in result.outlines if ln.startswith("wasmconc: --wasm-preempt"))
    return int(header.split("--wasm-seed=")[1].split()[0])


def check_in_flight_entry(entry: dict[str, str], seed: int) -> None:
    """The entry names test_dies, its schedule 2 and the token that replays exactly that schedule."""
    assert entry["state"] == "in-flight", entry
    assert entry["test"] == "test_crash.py::test_dies"
    assert entry["guest"].endswith("boom.wasm")
    assert entry["execution"].startswith("explore schedule 2 (fuel mode, policy random")
    m = re.fullmatch(r"pytest test_crash\.py::test_dies --wasm-replay=(wc1-[\w-]+)", entry["replay"])
    assert m, entry["replay"]
    token = decode_token(m.group(1))
    assert (token.policy, token.seed) == ("random", derive_seed(seed, 2))


def test_a_worker_killed_mid_guest_shows_the_test_and_its_replay_in_the_crash_report(
        crash_project: pytest.Pytester) -> None:
    crash_project.makepyfile(test_crash=KILLING)
    result = crash_project.runpytest_subprocess("-n", "2", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=3, failed=1)
    seed = header_seed(result)
    text = result.stdout.str()
    worker = re.search(r"worker '(gw\d)' crashed while running 'test_crash.py::test_dies'", text)
    assert worker, text
    crash_file = default_dir(crash_project) / f"crash-{worker.group(1)}.txt"
    check_in_flight_entry(fields(crash_file), seed)
    result.stdout.fnmatch_lines([
        f"*worker '{worker.group(1)}' crashed while running 'test_crash.py::test_dies'",
        "",
        f"pytest-wasmconc crash log ({crash_file}): a guest execution was in flight when the worker died",
        "  guest: *boom.wasm",
        (f"  execution: explore schedule 2 (fuel mode, policy random, seed {derive_seed(seed, 2)}; "
         f"the exploration's seed {seed})"),
        "  replay: pytest test_crash.py::test_dies --wasm-replay=wc1-*",
        "  started: *(guest execution 3 of this test)",
    ])


def test_a_process_killed_without_xdist_leaves_the_file_and_the_next_session_names_it(
        crash_project: pytest.Pytester) -> None:
    crash_project.makepyfile(test_crash=KILLING)
    result = crash_project.runpytest_subprocess("-p", "no:xdist", "--wasm-seed=7", timeout=CHILD_LIMIT_S)
    assert result.ret == -9, result.stdout.str()  # SIGKILL: no summary, no report at all
    crash_file = default_dir(crash_project) / "crash-main.txt"
    check_in_flight_entry(fields(crash_file), 7)

    again = crash_project.runpytest_subprocess("-p", "no:xdist", "-k", "test_fine", timeout=CHILD_LIMIT_S)
    again.assert_outcomes(passed=3, deselected=1)
    moved = default_dir(crash_project) / "previous" / "crash-main.txt"
    again.stdout.fnmatch_lines([
        ("wasmconc: the previous session's process main ended during test_crash.py::test_dies "
         f"(a guest execution was in flight); crash log {moved}; "
         "replay: pytest test_crash.py::test_dies --wasm-replay=wc1-*"),
    ])
    assert fields(moved)["state"] == "in-flight"
    assert fields(crash_file)["state"] == "finished"  # this session's own, ended normally


@pytest.mark.parametrize("args", [["-n", "2"], ["-p", "no:xdist"]], ids=["xdist", "single"])
def test_a_normal_run_leaves_no_test_in_flight(wasm_project: pytest.Pytester, args: list[str]) -> None:
    wasm_project.makepyfile(test_passing=PASSING)
    result = wasm_project.runpytest_subprocess(*args, timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=4)
    files = sorted(default_dir(wasm_project).glob("crash-*.txt"))
    assert files, "no crash log written"
    for path in files:
        entry = fields(path)
        assert entry["state"] == "finished", (path, entry)
        assert "test" not in entry
    assert "previous session" not in result.stdout.str()


def test_every_failure_report_also_goes_to_the_failures_file(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_failing=FAILING)
    result = wasm_project.runpytest_subprocess("-p", "no:xdist", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=1, failed=1)
    text = (default_dir(wasm_project) / "failures-main.txt").read_text()
    assert text.count("==== FAILED ") == 1
    assert "==== FAILED test_failing.py::test_exit3 (call) at " in text
    assert "exit3.wasm: exited with code 3 (expected exit code 0) (schedule 0 failed after 1 of 3 schedules;" in text
    assert re.search(r"replay: pytest test_failing\.py::test_exit3 --wasm-replay=wc1-", text)
    entry = fields(default_dir(wasm_project) / "crash-main.txt")
    assert entry["state"] == "finished"  # a failing test still finished normally


@pytest.mark.parametrize("how", ["cli", "env", "ini"])
def test_the_crash_log_directory_is_an_option(crash_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                              how: str) -> None:
    crash_project.makepyfile(test_crash=KILLING)
    args = ["-p", "no:xdist", "--wasm-seed=3"]
    if how == "cli":
        args.append("--wasm-crash-log=logs")
    elif how == "env":
        monkeypatch.setenv("PYTEST_WASM_CRASH_LOG", "logs")
    else:
        crash_project.makeini("[pytest]\nwasm_crash_log = logs\n")
    result = crash_project.runpytest_subprocess(*args, timeout=CHILD_LIMIT_S)
    assert result.ret == -9, result.stdout.str()
    check_in_flight_entry(fields(crash_project.path / "logs" / "crash-main.txt"), 3)
    assert not list(default_dir(crash_project).glob("crash-*.txt"))


def test_off_writes_no_crash_log(wasm_project: pytest.Pytester) -> None:
    wasm_project.makepyfile(test_passing=PASSING)
    result = wasm_project.runpytest_subprocess("-p", "no:xdist", "--wasm-crash-log=off", timeout=CHILD_LIMIT_S)
    result.assert_outcomes(passed=4)
    assert not list(wasm_project.path.rglob("crash-*.txt"))


def test_a_bad_crash_log_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest("--wasm-crash-log= ")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([("*--wasm-crash-log: invalid value '' from the command line "
                                  "(valid: a directory path, or off)*")])
