"""`wasmconc explore|run|replay --trace-dir DIR`: the failing execution's timeline, named on the output."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from child_processes import CHILD_LIMIT_S

GUESTS = Path(__file__).resolve().parents[2] / "guests"
LOCK_ORDER = str(GUESTS / "c" / "lock_order.wasm")
MUTEX_COUNTER = str(GUESTS / "c" / "mutex_counter.wasm")


def wasmconc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_wasmconc", *args], capture_output=True, text=True,
                          timeout=CHILD_LIMIT_S)


def test_explore_writes_the_failing_schedule_s_timeline_and_names_it(tmp_path: Path) -> None:
    proc = wasmconc("explore", "--seed", "4", "--trace-dir", str(tmp_path), LOCK_ORDER)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    m = re.search(r"^timeline: (\S+\.trace\.json) \(.*\), (\S+\.timeline\.html) \(open in a browser\)$", proc.stdout,
                  re.M)
    assert m, proc.stdout
    trace, page = Path(m[1]), Path(m[2])
    index = re.search(r"^schedule (\d+) failed:$", proc.stdout, re.M)
    assert index, proc.stdout
    assert trace.parent == tmp_path and trace.name == f"lock_order-explore-schedule{index[1]}.trace.json"
    doc = json.loads(trace.read_text())
    assert doc["otherData"]["summary"] == "deadlock" and doc["otherData"]["clock"] == "virtual"
    assert "thread 2 (spawned by 0)" in page.read_text()
    replay = next(ln for ln in proc.stdout.splitlines() if ln.startswith("replay: "))
    assert "--trace-dir" not in replay  # where timelines go is no part of the schedule


def test_run_writes_a_timeline_only_on_failure_unless_asked_for_all(tmp_path: Path) -> None:
    ok = wasmconc("run", "--seed", "1", "--trace-dir", str(tmp_path / "a"), MUTEX_COUNTER, "--", "5")
    assert ok.returncode == 0 and "timeline:" not in ok.stderr and not (tmp_path / "a").exists()
    every = wasmconc("run", "--preempt", "epoch", "--trace-dir", str(tmp_path / "b"), "--trace-schedules", "all",
                     MUTEX_COUNTER, "--", "5")
    assert every.returncode == 0, every.stderr
    assert "timeline: " in every.stderr
    doc = json.loads((tmp_path / "b" / "mutex_counter-run.trace.json").read_text())
    assert doc["otherData"]["clock"] == "wall" and not doc["otherData"]["failed"]
