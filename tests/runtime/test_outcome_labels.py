"""Outcome classes are short labels (statistics count them), with no paths or advice: the report keeps those."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from child_processes import CHILD_LIMIT_S

from pytest_wasmconc.runtime import Outcome, Runner, RunSettings, Status

WAT = Path(__file__).resolve().parents[2] / "guests" / "wat"
DEADLOCK = WAT / "deadlock_forever.wasm"


def test_each_status_has_a_short_label() -> None:
    assert Outcome(Status.EXITED, 3).summary() == "exited with code 3"
    assert Outcome(Status.TRAPPED, None, trap_thread=1,
                   trap_message="wasm `unreachable` instruction executed\nwasm backtrace: ...").summary() == \
        "trapped in thread 1: wasm `unreachable` instruction executed"
    assert Outcome(Status.DEADLOCK, None, report="deadlock! every live guest thread of /x/g.wasm ...").summary() == \
        "deadlock"
    assert Outcome(Status.HANG, None, hang_limit="max-steps").summary() == "hang (step budget)"
    assert Outcome(Status.HANG, None, hang_limit="timeout").summary() == "hang (wall-clock backstop)"


def test_a_deadlock_is_labelled_deadlock_and_reported_in_full() -> None:
    exp = Runner(RunSettings(seed=1)).explore(DEADLOCK, schedules=2)
    assert dict(exp.distinct) == {"deadlock": 1}
    assert exp.outcome.report.startswith(f"deadlock! every live guest thread of {DEADLOCK} is blocked")


def test_a_hang_names_the_limit_that_ended_it() -> None:
    o = Runner(RunSettings(seed=1, max_steps=500)).run(WAT / "spin_forever.wasm")
    assert o.summary() == "hang (step budget)"
    assert "--max-steps" in o.report  # the advice stays in the report


def test_cli_explore_statistics_use_the_labels() -> None:
    proc = subprocess.run([sys.executable, "-m", "pytest_wasmconc", "explore", "--seed", "1", str(DEADLOCK)],
                          check=False, capture_output=True, text=True, timeout=CHILD_LIMIT_S)
    assert proc.returncode == 1
    (summary,) = [ln for ln in proc.stdout.splitlines() if ln.startswith("explored ")]
    assert summary.endswith("; outcomes: deadlock x1"), summary
    assert f"deadlock! every live guest thread of {DEADLOCK}" in proc.stdout
