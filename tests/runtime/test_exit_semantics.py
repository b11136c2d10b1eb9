"""wasi-threads exit semantics, in every preempt mode, through the CLI.

proc_exit from any thread ends the whole guest with its code, also while the
others are busy, parked in memory.atomic.wait32, or blocked reading an open
but silent stdin; main returning from _start ends the guest with 0; a worker
returning ends only itself; a trap in any thread ends the guest (134).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from child_processes import CHILD_LIMIT_S

WAT = Path(__file__).resolve().parents[2] / "guests" / "wat"
MODES = ["fuel", "epoch", "os"]
# Every run gets this wall-clock backstop: a guest that does not end by itself is
# ended with exit code 124, which no case expects. It bounds a failing case, not
# the speed of a passing one, so it is far above any run's time on a loaded machine
# (and below CHILD_LIMIT_S, which only a runtime ignoring its backstop reaches).
BACKSTOP_S = 240

# guest -> (exit code, stdout)
CASES = {
    "exit_main_procexit_worker_busy": (11, "main: proc_exit(11)\n"),
    "exit_main_procexit_worker_waiting": (12, "main: proc_exit(12)\n"),
    "exit_main_procexit_worker_reading": (13, "main: proc_exit(13)\n"),
    "exit_main_return_worker_busy": (0, None),
    "exit_main_return_worker_waiting": (0, "main: return from _start\n"),
    "exit_main_return_worker_reading": (0, None),
    "exit_worker_procexit_main_busy": (21, None),
    "exit_worker_procexit_main_waiting": (99, "worker: proc_exit(99)\n"),
    "exit_worker_procexit_main_reading": (23, None),
    "exit_worker_return_main_busy": (31, "main: worker returned, proc_exit(31)\n"),
    "exit_worker_return_main_waiting": (32, None),
}


def run(*args: str) -> list[str]:
    """`wasmconc run ARGS` with the backstop."""
    return [sys.executable, "-m", "pytest_wasmconc", "run", "--timeout", str(BACKSTOP_S), *args]


def run_with_silent_stdin(*args: str) -> tuple[int, str, str]:
    """`wasmconc run ARGS` with a stdin pipe that stays open and silent for the whole run."""
    proc = subprocess.Popen(run(*args), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        out, err = proc.communicate(timeout=CHILD_LIMIT_S)  # never writes, never closes before the end
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out, err


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("guest", sorted(CASES))
def test_exit_case_ends_by_itself_with_its_code(guest: str, mode: str) -> None:
    code, expected_out = CASES[guest]
    rc, out, err = run_with_silent_stdin("--preempt", mode, str(WAT / f"{guest}.wasm"))
    assert rc != 124, f"still running at the {BACKSTOP_S} s backstop: {err}"
    assert rc == code, err
    if expected_out is not None:
        assert out == expected_out
    assert "Traceback" not in err


@pytest.mark.parametrize("mode", MODES)
def test_worker_returning_leaves_main_reading_until_stdin_has_data(mode: str) -> None:
    proc = subprocess.run(run("--preempt", mode, str(WAT / "exit_worker_return_main_reading.wasm")),
                          input="hello\n", capture_output=True, text=True, timeout=CHILD_LIMIT_S)
    assert proc.returncode == 33, proc.stderr
    assert proc.stdout == "main: stdin returned, proc_exit(33)\n"


@pytest.mark.parametrize("mode", MODES)
def test_a_trap_in_a_worker_ends_the_guest_with_134_and_a_named_backtrace(mode: str) -> None:
    rc, out, err = run_with_silent_stdin("--preempt", mode, str(WAT / "trap_worker_main_waiting.wasm"))
    assert rc == 134, err
    assert "trap in thread 1" in err
    assert "crash_in_worker" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("mode", MODES)
def test_single_threaded_wasi_program_runs(mode: str) -> None:
    proc = subprocess.run(run("--preempt", mode, str(WAT / "single_hello.wasm")), capture_output=True, text=True,
                          timeout=CHILD_LIMIT_S)
    assert (proc.returncode, proc.stdout) == (0, "hello\n"), proc.stderr
