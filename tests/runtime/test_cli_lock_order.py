"""`wasmconc explore|run|replay --check lock-order`: exit 1 with the report on any lock-order cycle."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from child_processes import CHILD_LIMIT_S, wasm_tools

GUESTS = Path(__file__).resolve().parents[2] / "guests"
LOCK_ORDER = str(GUESTS / "c" / "lock_order.wasm")


def wasmconc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_wasmconc", *args], capture_output=True, text=True,
                          timeout=CHILD_LIMIT_S)


def test_explore_stops_at_the_first_schedule_with_a_cycle_and_exits_1() -> None:
    proc = wasmconc("explore", "--seed", "0", "--check", "lock-order", LOCK_ORDER)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "schedule 0 failed:" in out  # the guest exited 0 there (seed 0): no deadlock was needed
    assert "lock-order inversion (potential deadlock): cycle in lock order M1 -> M2 -> M1" in out
    assert "M2 acquired while holding M1 in thread" in out and "M1 acquired while holding M2 in thread" in out
    assert out.count("at wasi_thread_start") == 4  # both sides of both edges, full backtraces
    assert "at thread_ab (@0x" in out and "at thread_ba (@0x" in out
    assert "--- guest stdout ---\nno deadlock" in out
    assert re.search(r"^replay: wasmconc replay --check lock-order \S+lock_order\.wasm wc1-", out, re.M)


def test_the_printed_replay_command_reproduces_the_report() -> None:
    out = wasmconc("explore", "--seed", "0", "--check", "lock-order", LOCK_ORDER).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("replay: "))
    argv = shlex.split(line[len("replay: "):])
    assert argv[:2] == ["wasmconc", "replay"]
    proc = wasmconc(*argv[1:])
    assert proc.returncode == 1
    assert proc.stdout == "no deadlock\n"
    assert "lock-order inversion (potential deadlock)" in proc.stderr


def test_run_exits_1_with_the_report_on_stderr() -> None:
    proc = wasmconc("run", "--seed", "0", "--check", "lock-order", LOCK_ORDER)  # a schedule without deadlock
    assert proc.returncode == 1
    assert proc.stdout == "no deadlock\n"
    assert "lock-order inversion (potential deadlock)" in proc.stderr


def test_explore_passes_guests_without_inversions_and_says_what_it_saw() -> None:
    for args in (["--", "ordered"], ["--", "gate"]):
        proc = wasmconc("explore", "--check", "lock-order", "--schedules", "10",
                        str(GUESTS / "c" / "philosophers.wasm"), *args)
        assert proc.returncode == 0, proc.stdout
        assert "explored 10 schedules" in proc.stdout
        assert "lock-order check: " in proc.stdout and "; no lock-order inversion" in proc.stdout
        assert "pthread_mutex_lock" in proc.stdout


def test_a_guest_without_names_is_a_usage_error_saying_how_to_keep_them(tmp_path: Path) -> None:
    stripped = tmp_path / "stripped.wasm"
    subprocess.run([wasm_tools(), "strip", "--all", LOCK_ORDER, "-o", str(stripped)], check=True,
                   timeout=CHILD_LIMIT_S)
    proc = wasmconc("explore", "--check", "lock-order", str(stripped))
    assert proc.returncode == 2
    assert proc.stderr.startswith("wasmconc: error: lock-order check: cannot see any lock of")
    assert "no name section" in proc.stderr and "wasm-opt" in proc.stderr and "-g" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    # without the check the guest runs as before
    assert wasmconc("run", "--seed", "0", str(stripped)).returncode == 0  # a schedule without deadlock
