"""WebAssembly text (.wat) is a guest wherever a binary is: the runtime, `wasmconc run | explore | replay`.

Text is converted by Wasmtime's own parser; malformed text is one line naming
the file, the line and column, and what is wrong (exit 2 in the CLI).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from child_processes import CHILD_LIMIT_S

from pytest_wasmconc.runtime import ModuleError, Runner, RunSettings, Status

WAT = Path(__file__).resolve().parents[2] / "guests" / "wat"
HELLO = WAT / "single_hello.wat"
DEADLOCK = WAT / "deadlock_forever.wat"
MALFORMED = "(module\n  (func (export \"_start\")\n    (i32.bogus)))\n"


def wasmconc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_wasmconc", *args], check=False, capture_output=True,
                          text=True, timeout=CHILD_LIMIT_S)


def test_a_wat_file_runs_as_its_binary_does() -> None:
    outcome = Runner(RunSettings(seed=1)).run(HELLO)
    assert (outcome.status, outcome.exit_code, outcome.stdout) == (Status.EXITED, 0, "hello\n")


def test_text_given_as_bytes_runs_too() -> None:
    outcome = Runner(RunSettings(seed=1)).run(HELLO.read_bytes())
    assert outcome.stdout == "hello\n"


def test_text_in_a_file_named_wasm_is_read_as_text(tmp_path: Path) -> None:
    guest = tmp_path / "hello.wasm"
    guest.write_bytes(HELLO.read_bytes())
    assert Runner(RunSettings(seed=1)).run(guest).stdout == "hello\n"


def test_malformed_text_names_the_file_line_and_column(tmp_path: Path) -> None:
    guest = tmp_path / "broken.wat"
    guest.write_text(MALFORMED)
    with pytest.raises(ModuleError) as info:
        Runner(RunSettings()).run(guest)
    message = str(info.value)
    assert message.startswith(f"{guest}:3:6: invalid WebAssembly text: ")
    assert "\n" not in message


def test_a_wat_file_of_something_else_is_a_text_error(tmp_path: Path) -> None:
    guest = tmp_path / "notes.wat"
    guest.write_text("hello world\n")
    with pytest.raises(ModuleError, match=r"notes.wat:1:1: invalid WebAssembly text: expected `\(`"):
        Runner(RunSettings()).run(guest)


def test_cli_run_takes_a_wat_file() -> None:
    proc = wasmconc("run", str(HELLO))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "hello\n", "")


def test_cli_explore_and_replay_take_a_wat_file() -> None:
    explored = wasmconc("explore", "--schedules", "3", str(DEADLOCK))
    assert explored.returncode == 1, explored.stdout + explored.stderr
    assert "deadlock" in explored.stdout
    (replay_line,) = [ln for ln in explored.stdout.splitlines() if ln.startswith("replay: ")]
    token = replay_line.split()[-1]
    assert replay_line == f"replay: wasmconc replay {DEADLOCK} {token}"
    replayed = wasmconc("replay", str(DEADLOCK), token)
    assert replayed.returncode == 124, replayed.stderr
    assert "deadlock" in replayed.stderr


@pytest.mark.parametrize("command", ["run", "explore"])
def test_cli_malformed_wat_is_a_one_line_usage_error(tmp_path: Path, command: str) -> None:
    guest = tmp_path / "broken.wat"
    guest.write_text(MALFORMED)
    proc = wasmconc(command, str(guest))
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"wasmconc: error: {guest}:3:6: invalid WebAssembly text: unknown operator or unexpected token"]
