"""`wasmconc`: every execution has a wall-clock backstop (default 300 s, in every mode), off only on request.

Guests run in subprocesses with a short explicit --timeout; the default is
checked on the parsed settings, never by waiting for it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

from child_processes import CHILD_LIMIT_S
from pytest_wasmconc.cli import _settings, build_parser
from pytest_wasmconc.runtime import Preempt
from pytest_wasmconc.runtime.settings import DEFAULT_TIMEOUT

# A worker spins forever while main waits for it (no progress, no end).
SPIN = """
(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))
  (func $spin_forever (loop $l (br $l)))
  (func (export "wasi_thread_start") (param i32 i32) (call $spin_forever))
  (func (export "_start")
    (drop (call $spawn (i32.const 0)))
    (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))))
"""
# Reads stdin once: blocked for as long as nobody writes or closes it.
READ_STDIN = """
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 64))
    (drop (call $r (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))))
"""
HINT = ("wasmconc: the wall-clock backstop of 1 s was reached: raise it with --timeout SECONDS, "
        "or turn it off with --timeout none")


def _guest(tmp_path: Path, name: str, wat: str) -> str:
    path = tmp_path / f"{name}.wasm"
    path.write_bytes(wasmtime.wat2wasm(wat))
    return str(path)


def _wasmconc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_wasmconc", *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=CHILD_LIMIT_S, check=False)


@pytest.mark.parametrize("command", ["run", "explore", "replay"])
def test_the_default_backstop_is_applied_to_every_command(command: str) -> None:
    ns = build_parser().parse_args([command, "g.wasm"] + (["wc1-x"] if command == "replay" else []))
    for mode in Preempt:
        assert _settings(ns, mode).timeout == DEFAULT_TIMEOUT == 300.0


@pytest.mark.parametrize(("value", "expected"), [("2.5", 2.5), ("0", None), ("none", None), ("None", None)])
def test_the_backstop_is_set_or_turned_off_only_on_request(value: str, expected: float | None) -> None:
    ns = build_parser().parse_args(["run", "--timeout", value, "g.wasm"])
    assert _settings(ns, Preempt.EPOCH).timeout == expected


def test_the_help_names_the_default_backstop() -> None:
    out = _wasmconc("run", "--help").stdout
    assert "(default: 300; valid: positive seconds, or none (or 0) for no backstop)" in " ".join(out.split())


@pytest.mark.parametrize("mode", ["epoch", "os"])
def test_a_spinning_guest_ends_at_the_backstop_with_exit_124_naming_it(tmp_path: Path, mode: str) -> None:
    proc = _wasmconc("run", "--preempt", mode, "--timeout", "1", _guest(tmp_path, "spin", SPIN))
    assert proc.returncode == 124, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("hang: ") and " 1 s" in lines[0], proc.stderr
    assert "      at spin_forever (@0x" in proc.stderr
    assert HINT in lines, proc.stderr


def test_a_fuel_mode_guest_blocked_on_stdin_ends_at_the_backstop(tmp_path: Path) -> None:
    """No step is taken while the guest waits for input: only the wall clock can end it."""
    guest = _guest(tmp_path, "reader", READ_STDIN)
    proc = subprocess.Popen([sys.executable, "-m", "pytest_wasmconc", "run", "--timeout", "1", guest],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        code = proc.wait(timeout=CHILD_LIMIT_S)  # stdin stays open and silent the whole time
        err = proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert code == 124, err
    assert "parked in fd_read(0)" in err
    assert HINT in err.splitlines()


def test_the_replay_command_of_an_exploration_keeps_a_non_default_backstop(tmp_path: Path) -> None:
    # No step budget to speak of: the wall clock ends the spin.
    proc = _wasmconc("explore", "--schedules", "1", "--timeout", "1", "--max-steps", str(10**12),
                     _guest(tmp_path, "spin", SPIN))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert HINT in proc.stdout.splitlines()
    replay = next(ln for ln in proc.stdout.splitlines() if ln.startswith("replay: "))
    assert " --timeout 1 " in replay
