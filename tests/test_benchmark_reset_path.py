"""benchmarks/reset_path.py (issue 20, the reset path) runs at tiny sizes and reports every guest.

No speed is asserted: only that a `--quick` run in a child process measures each guest with the
switch off and on and says what the reset path did (every guest on kept worlds, the libc guests whose
memory grows too).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from child_processes import CHILD_LIMIT_S

ROOT = Path(__file__).resolve().parents[1]


def test_a_quick_reset_path_run_reports_every_guest() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "reset_path.py"), "--quick", "--rounds", "1"],
                          check=False, capture_output=True, text=True, env=env, timeout=CHILD_LIMIT_S)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 6 and all(" off " in line and " on " in line for line in lines), proc.stdout
    assert "'resets': 2" in lines[0]  # 3 schedules: the second and third on the kept world
    assert all("'resets': 2" in line for line in lines[2:])  # the libc guests' grown memories too
