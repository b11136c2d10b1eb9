"""benchmarks/schedule_rate.py runs at tiny sizes and reports one median line. No speed is asserted."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from child_processes import CHILD_LIMIT_S

ROOT = Path(__file__).resolve().parents[1]


def test_a_tiny_schedule_rate_run_reports_its_median_and_rounds() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "schedule_rate.py"), "--schedules", "3",
                           "--rounds", "2", "--policy", "pct", "2", "2"],
                          check=False, capture_output=True, text=True, env=env, timeout=CHILD_LIMIT_S)
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r"pct 2 2: median [\d,]+/s per CPU second \(3 schedules x 2: [\d,]+, [\d,]+\)\n",
                        proc.stdout), proc.stdout
