"""What a test's guest executions ended with, kept on the item for its report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from .expectation import Expectation

if TYPE_CHECKING:  # types only: the plugin reads records in every failing test's report hook
    from ..runtime import Outcome, RunSettings
    from ..runtime.timeline import Timeline
    from ..shrinking import Shrunk

__all__ = ["ACTIVITY_KEY", "RECORDS_KEY", "GuestRecord", "add_record", "failing_record", "records_of"]


@dataclass
class GuestRecord:
    """One `run()` or one `explore()` call of a test."""

    guest: str
    kind: str  # "run", "explore", "replay" or "memory" (a schedule that failed the test last time)
    outcome: Outcome
    expected: Expectation
    settings: RunSettings
    schedules_run: int = 1
    schedules_planned: int = 1
    schedule_index: int | None = None
    distinct: Counter[str] = field(default_factory=Counter)
    cut_by_timeout: float | None = None  # the test's pytest-timeout, when it bounded this execution
    statement: str | None = None  # what a bounded exhaustive search (policy dfs) proved
    shrink: Shrunk | None = None  # an explore()'s failure shrunk (`outcome` is then the shrunk schedule's)
    check_failures: list[str] = field(default_factory=list)
    raised: bool = False  # the test already failed with this record's report as its exception
    unexpected: str | None = None  # why the call failed the test: the outcome was not the expected one
    elapsed: float = 0.0  # seconds the call's executions took
    # Distinct schedules (hashes of their decisions); none recorded in os and epoch mode.
    interleavings: set[int] = field(default_factory=set)
    # Under --wasm-trace-dir: gives the outcome's timeline (recorded, or its schedule run again; timeline_files.py).
    timeline: Callable[[], Timeline | None] | None = field(default=None, repr=False)

    @property
    def failed(self) -> bool:
        return not self.expected.met_by(self.outcome) or bool(self.check_failures)


RECORDS_KEY = pytest.StashKey[list[GuestRecord]]()
# A one-line description of the guest execution in progress (for a report written at a hard exit).
ACTIVITY_KEY = pytest.StashKey[str]()


def records_of(item: pytest.Item) -> list[GuestRecord]:
    return item.stash.get(RECORDS_KEY, [])


def add_record(item: pytest.Item, record: GuestRecord) -> None:
    item.stash.setdefault(RECORDS_KEY, []).append(record)


def failing_record(item: pytest.Item) -> GuestRecord | None:
    """The record that explains a failure: the last failing one, else the last one."""
    records = records_of(item)
    for record in reversed(records):
        if record.failed:
            return record
    return records[-1] if records else None
