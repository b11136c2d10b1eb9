"""benchmarks/throughput.py (issue 20) runs at tiny sizes and reports every row.

No speed is asserted (the suite runs on whatever machine it gets): only that a
`--quick` run in a child process measures each row, writes it to --json and
prints it. The wasmtime 36 CLI row is measured when the CLI is installed and
otherwise says why not.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from child_processes import CHILD_LIMIT_S

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from rows import load  # noqa: E402 (benchmarks/ is not a package)

EXPECTED_KEYS = {
    "explore_2t_default", "explore_2t_random", "explore_4t_default", "explore_4t_random",
    "explore_100t_default", "explore_100t_random", "startup_run", "pool_vs_cli", "threads_spawn_join",
    "threads_all_alive", "phase_total", "phase_drive_guest_scheduling_thread_start_up", "phase_outcome",
    "phase_rest",
}


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # the child imports this checkout's pytest_wasmconc even when it is not installed
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def test_a_quick_throughput_run_reports_every_row(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "throughput.py"), "--quick", "--json", str(out)],
                          check=False, capture_output=True, text=True, env=_child_env(),
                          timeout=CHILD_LIMIT_S)  # a bound on a stuck run, not a speed floor
    assert proc.returncode == 0, f"throughput.py failed:\n{proc.stdout}\n{proc.stderr}"
    rows = load(out)
    keys = {r.key for r in rows}
    assert EXPECTED_KEYS <= keys, sorted(EXPECTED_KEYS - keys)
    for row in rows:
        if row.key == "pool_vs_cli" and row.value is None:
            assert "not measured: " in row.note, row  # no wasmtime 36 CLI here: the row says why
            continue
        assert row.value is not None and row.value >= 0, row
        if row.op in ("<=", ">="):
            assert row.value > 0 and row.target is not None, row  # a ratio, rate or time, with its target
    for row in rows:  # the printed table has every row
        assert row.label in proc.stdout
