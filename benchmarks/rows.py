"""One row per performance target, the table they print as, and their JSON form.

Every measurement module returns `Row`s; bench.py renders them as one table and,
with --json, writes them for tests/test_benchmark_guard.py, which judges them
against its own (loose) thresholds rather than the targets.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

# "<=": the value must not exceed the target; ">=": must reach it; "completes": the
# run must end as expected (value is its wall time); "report": no target, measured only.
Op = Literal["<=", ">=", "completes", "report"]


@dataclass(frozen=True)
class Row:
    key: str  # stable id (the guard's thresholds are keyed by it)
    label: str
    value: float | None  # None: the measurement could not be taken (see note)
    unit: str  # "x", "us", "/s", "s", "KiB"
    op: Op
    target: float | None = None
    ok: bool | None = None  # "completes" rows: did it end as expected
    note: str = ""

    @property
    def passed(self) -> bool | None:
        """Against the issue's target (None for a "report" row)."""
        if self.op == "report":
            return None
        if self.value is None:
            return False
        if self.op == "completes":
            return bool(self.ok)
        assert self.target is not None
        return self.value <= self.target if self.op == "<=" else self.value >= self.target


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "us":
        return f"{value:.1f} us"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "KiB":
        return f"{value:,.0f} KiB"
    return f"{value:g} {unit}"


def target_text(row: Row) -> str:
    if row.op == "completes":
        return "completes"
    if row.op == "report":
        return "(report)"
    return f"{row.op} {fmt(row.target, row.unit)}"


def mark(row: Row) -> str:
    p = row.passed
    return "-" if p is None else ("PASS" if p else "FAIL")


def render(rows: list[Row], markdown: bool = False) -> str:
    head = ("row", "measured", "target", "", "how")
    body = [(r.label, fmt(r.value, r.unit), target_text(r), mark(r), r.note) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return "\n".join(lines)
    widths = [max(len(c[i]) for c in [head, *body]) for i in range(len(head))]
    out = ["  ".join(c.ljust(w) for c, w in zip(head, widths)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip() for cells in body]
    return "\n".join(out)


def dump(rows: list[Row], path: Path) -> None:
    path.write_text(json.dumps([asdict(r) for r in rows], indent=1))


def load(path: Path) -> list[Row]:
    return [Row(**d) for d in json.loads(path.read_text())]
