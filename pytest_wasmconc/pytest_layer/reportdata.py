"""What a wasm test's call report carries beyond pytest's own: for the main process and for CI.

The process that ran the test (an xdist worker, or the only one) knows its
guest records; the main process (the controller) sees only reports. So the
call report carries the failing tokens and notes of the failure memory
(memory.py), the statistics (statistics.py), and, for JUnit XML and any other
consumer of user properties, the seed and the replay command of a failing test.
"""

from __future__ import annotations

import pytest

from . import memory, statistics
from .records import failing_record
from .reporting import not_replayable_command, replay_command

__all__ = ["annotate", "failure_properties"]


def failure_properties(item: pytest.Item) -> list[tuple[str, str]]:
    """The failing execution's seed and how to run it again, as (name, value) user properties (the last
    execution's when none failed: the test's own assertion failed on it)."""
    record = failing_record(item)
    if record is None:
        return []
    props = [("wasm_seed", str(record.settings.seed))]
    token = record.outcome.token
    if token:
        props += [("wasm_replay_token", token), ("wasm_replay", replay_command(item, token))]
    else:
        props.append(("wasm_rerun", not_replayable_command(item, record)))
    return props


def annotate(item: pytest.Item, report: pytest.TestReport, *, statistics_on: bool) -> None:
    """Add the call report's wasm data (and, for a failure, the item's user properties, which JUnit XML
    reads from the teardown report)."""
    data = memory.report_data(item, report)
    if data is not None:
        report.__dict__[memory.MEMORY_DATA] = data
    if statistics_on:
        stats = statistics.report_data(item)
        if stats is not None:
            report.__dict__[statistics.STATISTICS_DATA] = stats
    if report.failed:
        props = failure_properties(item)
        item.user_properties.extend(props)
        report.user_properties.extend(props)
