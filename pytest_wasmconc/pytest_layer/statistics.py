"""--wasm-statistics: what each wasm test's executions covered, printed after the run.

As `--hypothesis-show-statistics`: per test, the schedules run, the distinct
outcomes (by their short labels), the distinct interleavings (schedules with
different decisions: an exploration may run one schedule twice), the rate and
the time. The process that ran the test puts its figures on the call report
(xdist serialises them); the main process prints them in the terminal summary.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from .records import records_of

__all__ = ["STATISTICS_DATA", "StatisticsReporter", "render", "report_data"]

STATISTICS_DATA = "wasmconc_statistics"


def report_data(item: pytest.Item) -> dict[str, Any] | None:
    """The test's figures over all its run()/explore() calls (None: it ran no guest)."""
    records = records_of(item)
    if not records:
        return None
    outcomes: Counter[str] = Counter()
    keys: set[tuple[str, int]] = set()  # per guest: two guests' schedules are never the same interleaving
    schedules = 0
    elapsed = 0.0
    for record in records:
        schedules += record.schedules_run
        elapsed += record.elapsed
        keys |= {(record.guest, key) for key in record.interleavings}
        if record.distinct:
            outcomes.update(record.distinct)
        else:
            outcomes[record.outcome.summary()] += record.schedules_run
    return {"schedules": schedules, "outcomes": dict(outcomes.most_common()),
            "interleavings": len(keys) if keys else None, "elapsed": elapsed}


def render(nodeid: str, data: dict[str, Any]) -> list[str]:
    """One test's figures, as the summary prints them."""
    schedules = int(data.get("schedules", 0))
    elapsed = float(data.get("elapsed", 0.0))
    outcomes: dict[str, int] = data.get("outcomes", {})
    rate = f"{schedules / elapsed:.0f}/s" if elapsed > 0 else "-"
    kinds = ", ".join(f"{label} x{n}" for label, n in outcomes.items())
    interleavings = data.get("interleavings")
    distinct = (f"{interleavings} distinct interleaving{'s' if interleavings != 1 else ''}"
                if interleavings is not None else "distinct interleavings: not recorded (os and epoch mode)")
    return [f"{nodeid}:",
            f"  - {schedules} schedule{'s' if schedules != 1 else ''} in {elapsed:.2f} s ({rate})",
            f"  - {len(outcomes)} distinct outcome{'s' if len(outcomes) != 1 else ''}: {kinds}",
            f"  - {distinct}"]


class StatisticsReporter:
    """The main process's side: collects each call report's figures and prints them at the end."""

    def __init__(self) -> None:
        self.tests: dict[str, dict[str, Any]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, STATISTICS_DATA, None)
        if report.when == "call" and isinstance(data, dict):
            self.tests[report.nodeid] = data

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.section("wasmconc statistics")
        if not self.tests:
            terminalreporter.write_line("no test ran a wasm guest")
            return
        for nodeid, data in self.tests.items():
            for line in render(nodeid, data):
                terminalreporter.write_line(line)
