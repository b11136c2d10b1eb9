"""The benchmark machinery is right: bench.py measures every row, and its regression guard judges rows correctly.

No speed is asserted here: a test suite runs on whatever machine it gets (CI:
2 busy cores), so performance is judged by `benchmarks/bench.py --guard` (or
`benchmarks/guard.py ROWS.json`) where it is measured, never by a test. These
tests pin down that the guard's limits are the documented ones and that a
benchmark run produces a complete, well-formed table.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from child_processes import CHILD_LIMIT_S

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from guard import far_off, judge, limit_for
from rows import Row, dump, load

ROOT = Path(__file__).resolve().parents[1]

# Every section but xdist, whose run starts worker processes for seconds;
# tests/plugin/test_xdist.py covers xdist itself.
SECTIONS = "kernels,switch,explore,scale,shared"
EXPECTED_KEYS = {"fuel_fib_wat", "fuel_dot_c", "context_switch", "schedules_per_s", "threads_100",
                 "decisions_100k", "epoch_matmul_c", "epoch_explore", "shared_dot_c",
                 "shared2_matmul_default"}


def _ratio(value: float, target: float = 1.2, key: str = "fuel_fib_wat") -> Row:
    return Row(key, "fuel / plain: fib", value, "x", "<=", target)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # the child imports this checkout's pytest_wasmconc even when it is not installed
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


# -- the guard's limits, on made-up rows ---------------------------------------------------


def test_a_ratio_is_far_off_only_beyond_three_times_its_target() -> None:
    assert judge([_ratio(3.5)])[0].ok  # off target (1.2x), but not far off
    assert not judge([_ratio(3.7)])[0].ok


def test_a_rate_is_far_off_only_below_a_fifth_of_its_target() -> None:
    rate = Row("schedules_per_s_other", "exploration", 201.0, "/s", ">=", 1000.0)
    assert judge([rate])[0].ok
    assert not judge([replace(rate, value=199.0)])[0].ok


def test_runs_that_did_not_complete_or_were_not_measured_are_far_off() -> None:
    verdicts = judge([
        Row("threads_100", "100 threads", 0.3, "s", "completes", ok=False),
        Row("threads_100", "100 threads", 0.3, "s", "completes", ok=True),
        Row("fuel_fib_c", "fuel / plain: C fib", None, "x", "<=", 1.2),
        Row("thread_memory", "memory per thread", 17.0, "KiB", "report"),  # no target: not judged
    ])
    assert [v.ok for v in verdicts] == [False, True, False]


def test_the_slack_scales_every_limit() -> None:
    assert limit_for(_ratio(1.0), slack=0.5) == pytest.approx(1.8)
    assert limit_for(Row("r", "rate", 1.0, "/s", ">=", 1000.0), slack=0.5) == pytest.approx(400.0)
    good = [_ratio(1.3), Row("schedules_per_s", "exploration", 400.0, "/s", ">=", 1000.0)]
    assert far_off(good) == []
    assert len(far_off(good, slack=0.1)) == 2


@pytest.mark.parametrize(("slack", "code", "needle"), [
    ("1", 0, "guard: 2 rows within the guard's limits"),
    ("0.1", 1, "guard: far off the performance targets:\n  fuel / plain: fib: 1.3 x, guard limit <= 0.36"),
])
def test_the_guard_script_exits_1_listing_the_rows_far_off(tmp_path: Path, slack: str, code: int,
                                                           needle: str) -> None:
    rows = tmp_path / "rows.json"
    dump([_ratio(1.3), Row("threads_100", "100 threads", 0.3, "s", "completes", ok=True)], rows)
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "guard.py"), str(rows), "--slack", slack],
                          capture_output=True, text=True, timeout=CHILD_LIMIT_S, check=False)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert needle in proc.stdout


# -- the benchmark itself: a complete table, whatever the speed ------------------------------------------


def test_a_benchmark_run_measures_every_row(tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--quick", "--rounds", "1",
                           "--only", SECTIONS, "--json", str(out)], check=False, capture_output=True, text=True,
                          env=_child_env(), timeout=CHILD_LIMIT_S)  # a bound on a stuck run, not a speed floor
    assert proc.returncode == 0, f"bench.py failed:\n{proc.stdout}\n{proc.stderr}"
    rows = load(out)
    assert EXPECTED_KEYS <= {r.key for r in rows}, sorted(r.key for r in rows)
    for row in rows:
        assert row.value is not None, row  # measured, not skipped
        if row.op in ("<=", ">="):
            assert row.value > 0 and row.target is not None, row  # a time ratio or a rate, with its target
        if row.op == "completes":
            assert row.ok, row  # the long runs ended the way they must (an exit, not a hang)
    for row in rows:  # the printed table has every row, with its target
        assert row.label in proc.stdout
