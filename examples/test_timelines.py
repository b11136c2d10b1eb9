"""Timelines: with --wasm-trace-dir a failing test leaves its interleaving behind, to look at.

    python -m pytest examples --wasm-trace-dir=traces

Each failing test (a strict xfail too) gets, beside its report (`.txt`),
`traces/<test>.trace.json` (Chrome trace events: open it in Perfetto's UI,
https://ui.perfetto.dev, or chrome://tracing) and `traces/<test>.timeline.html`
(one page, no network needed: a lane per guest thread, its quanta, where it
waited and for what, the failure in red). The test below does exactly that for
test_hangs.py's deadlock, in a child pytest, and reads what it wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEADLOCK = "test_hangs.py::test_two_threads_taking_two_locks_never_deadlock"


def test_a_failing_test_leaves_its_timeline_in_the_trace_dir(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    child = subprocess.run([sys.executable, "-m", "pytest", DEADLOCK, "-p", "no:cacheprovider", "-q",
                            f"--wasm-trace-dir={tmp_path}"], cwd=HERE, env=env, capture_output=True, text=True,
                           timeout=300)
    assert "1 xfailed" in child.stdout, child.stdout + child.stderr
    stem = "test_hangs.py_test_two_threads_taking_two_locks_never_deadlock"
    trace = json.loads((tmp_path / f"{stem}.trace.json").read_text())
    events = trace["traceEvents"]
    threads = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert threads == {0: "thread 0 (main)", 1: "thread 1 (spawned by 0)", 2: "thread 2 (spawned by 0)"}
    quanta = defaultdict(int)  # each thread's running quanta: the interleaving
    for e in events:
        if e["ph"] == "X" and e["cat"] == "run":
            quanta[e["tid"]] += 1
    assert set(quanta) == {0, 1, 2}
    assert "deadlock: every live thread is blocked" in trace["otherData"]["failure"]
    page = (tmp_path / f"{stem}.timeline.html").read_text()
    assert all(name in page for name in threads.values())
    assert "waits for lock" in page  # the deadlock's cycle: each thread waits for the lock the other holds
