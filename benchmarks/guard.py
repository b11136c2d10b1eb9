"""Performance regression guard: are measured rows FAR off the performance targets?

    python benchmarks/guard.py ROWS.json [--slack S]      (rows from `bench.py --json`)
    python benchmarks/bench.py --quick --guard            (measure, then judge)

Not the targets themselves (bench.py marks those): a busy machine can miss a
target by a little, so only a value several times off fails here:

- time ratios (fuel / plain, epoch / fuel): at most 3x the target;
- schedules per second: at least 1/5 of the target;
- "completes" rows (100 live guest threads, a long 4-thread execution): must complete.

--slack (default 1) scales every limit: 0.5 halves the room for "<=" rows and
doubles the floor for ">=" rows. Exit 1, listing the rows, when any is far off.

Speed is judged here, on a machine chosen for it, never in the test suite:
tests/test_benchmark_guard.py only checks that this machinery is right.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rows import Row, load

__all__ = ["RATE_SLACK", "RATIO_SLACK", "Verdict", "far_off", "judge", "limit_for"]

RATIO_SLACK = 3.0  # "<=" rows: limit = 3 x target
RATE_SLACK = 5.0  # ">=" rows: limit = target / 5


@dataclass(frozen=True)
class Verdict:
    row: Row
    limit: float | None
    ok: bool

    def explain(self) -> str:
        r = self.row
        if r.op == "completes" or r.value is None:
            return f"{r.label}: did not complete as expected ({r.note})"
        return f"{r.label}: {r.value:.3g} {r.unit}, guard limit {r.op} {self.limit:.3g} (target {r.target}); {r.note}"


def limit_for(row: Row, slack: float = 1.0) -> float | None:
    """The guard's limit for a "<=" or ">=" row (None for rows without one)."""
    if row.op not in ("<=", ">=") or row.target is None:
        return None
    base = row.target * RATIO_SLACK if row.op == "<=" else row.target / RATE_SLACK
    return base * slack if row.op == "<=" else base / slack


def judge(rows: list[Row], slack: float = 1.0) -> list[Verdict]:
    out = []
    for row in rows:
        if row.op == "report":
            continue
        limit = limit_for(row, slack)
        if row.value is None:
            ok = False
        elif row.op == "completes":
            ok = bool(row.ok)
        else:
            assert limit is not None
            ok = row.value <= limit if row.op == "<=" else row.value >= limit
        out.append(Verdict(row, limit, ok))
    return out


def far_off(rows: list[Row], slack: float = 1.0) -> list[str]:
    """One line per row far off its target (empty: the guard passes)."""
    return [v.explain() for v in judge(rows, slack) if not v.ok]


def report(rows: list[Row], slack: float = 1.0) -> int:
    """Print the guard's verdict; the exit code (0 pass, 1 far off)."""
    failures = far_off(rows, slack)
    if failures:
        print("guard: far off the performance targets:\n  " + "\n  ".join(failures))
        return 1
    print(f"guard: {len(judge(rows, slack))} rows within the guard's limits (slack {slack:g})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", type=Path, help="rows written by bench.py --json")
    parser.add_argument("--slack", type=float, default=1.0, help="scales every limit (default 1)")
    args = parser.parse_args(argv)
    return report(load(args.rows), args.slack)


if __name__ == "__main__":
    sys.exit(main())
