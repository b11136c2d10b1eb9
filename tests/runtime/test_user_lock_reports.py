"""A guest's own lock reports (`wasmconc.lock_acquired/lock_try_acquired/lock_released`) link and work.

The README documents these imports for guests whose locks the instrumenter
cannot recognise by name; a guest importing them failed to load with
"unknown imports" unless something else defined them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

GUEST = Path(__file__).resolve().parents[2] / "guests" / "wat" / "user_lock_reports.wasm"


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_wasmconc.cli", *argv], capture_output=True, text=True,
                          timeout=240)


@pytest.mark.parametrize("mode", ["fuel", "epoch", "os"])
def test_a_guest_importing_the_lock_reports_runs_in_every_mode(mode: str) -> None:
    r = _cli("run", "--preempt", mode, str(GUEST))
    assert (r.returncode, r.stderr) == (0, "")


def test_the_lock_order_check_sees_the_reported_locks() -> None:
    r = _cli("run", "--check", "lock-order", str(GUEST))
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert "cycle in lock order M1 -> M2 -> M1" in out and "wasmconc.lock_acquired" in out
