"""What `wasmconc` says about itself: its version, its usage line with the guest's arguments, and a hint
when guest arguments come without `--`."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from child_processes import CHILD_LIMIT_S

GUESTS = Path(__file__).resolve().parents[2] / "guests"
HELLO = str(GUESTS / "wat" / "single_hello.wasm")


def wasmconc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_wasmconc", *args], check=False, capture_output=True,
                          text=True, timeout=CHILD_LIMIT_S)


def test_version_names_the_package_and_wasmtime() -> None:
    proc = wasmconc("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (f"wasmconc (pytest-wasmconc) {metadata.version('pytest-wasmconc')}, "
                           f"wasmtime {metadata.version('wasmtime')}\n")


@pytest.mark.parametrize(("command", "tail"), [
    ("run", "GUEST.wasm [-- ARGS...]"),
    ("explore", "GUEST.wasm [-- ARGS...]"),
    ("replay", "GUEST.wasm TOKEN [-- ARGS...]"),
])
def test_the_usage_line_shows_the_guest_arguments(command: str, tail: str) -> None:
    proc = wasmconc(command, "--help")
    assert proc.returncode == 0, proc.stderr
    usage = proc.stdout.split("\n\n", 1)[0]
    assert usage.startswith(f"usage: wasmconc {command} ") and usage.endswith(tail), usage
    assert "ARGS after -- go to the guest" in proc.stdout


@pytest.mark.parametrize(("args", "hint"), [
    (["run", HELLO, "50", "2"], f"wasmconc run {HELLO} -- 50 2"),
    (["explore", "--seed", "3", HELLO, "x y"], f"wasmconc explore {HELLO} -- 'x y'"),
    (["replay", HELLO, "wc1-x", "7"], f"wasmconc replay {HELLO} TOKEN -- 7"),
])
def test_guest_arguments_without_the_separator_get_a_one_line_hint(args: list[str], hint: str) -> None:
    proc = wasmconc(*args)
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert line.startswith("wasmconc: error: unrecognized arguments: ")
    assert line.endswith(f"(arguments for the guest go after --, as in: {hint})")
    assert proc.stdout == ""  # nothing ran


def test_an_unknown_option_gets_no_guest_hint() -> None:
    proc = wasmconc("run", HELLO, "--seeed", "3")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["wasmconc: error: unrecognized arguments: --seeed 3"]


def test_arguments_after_the_separator_reach_the_guest() -> None:
    proc = wasmconc("run", str(GUESTS / "c" / "producer_consumer.wasm"), "--", "10", "2")  # sums 1..10
    assert (proc.returncode, proc.stdout) == (0, "sum=55\n")
