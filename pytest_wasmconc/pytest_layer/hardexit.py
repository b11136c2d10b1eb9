"""Before pytest-timeout's thread method hard-exits a worker: write down what is known.

The plugin normally ends guests before the test's timeout, so this only
speaks when something else is stuck (Python code of the test, a host
function blocking outside the runtime). The note goes to stderr, to the
trace directory, and to a file the xdist controller attaches to the
"worker crashed" report.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from .records import ACTIVITY_KEY, failing_record
from .reporting import render_record, trace_file_name
from .state import state_of

__all__ = ["hard_exit_note", "read_crash_note", "write_hard_exit_note"]


def hard_exit_note(item: pytest.Item, timeout: float) -> str:
    lines = [f"pytest-wasmconc: {item.nodeid} reached its pytest-timeout of {timeout:g} s"]
    activity = item.stash.get(ACTIVITY_KEY, "")
    if activity:
        lines.append(f"a guest execution was still running and could not be ended in time: {activity}")
    else:
        lines.append("no guest execution was running (the test is stuck outside the guest)")
    record = failing_record(item)
    if record is not None:
        lines.append("the test's last guest execution:" if not record.failed else "the test's failing guest execution:")
        lines.append(render_record(item, record))
    return "\n".join(lines)


def write_hard_exit_note(item: pytest.Item, settings: Any) -> None:
    try:
        text = hard_exit_note(item, float(settings.timeout))
        state = state_of(item.config)
        for directory in (state.crash_dir, state.options.trace_dir.value):
            if directory is not None:
                try:
                    Path(directory).mkdir(parents=True, exist_ok=True)
                    (Path(directory) / trace_file_name(item.nodeid)).write_text(text + "\n", encoding="utf-8")
                except OSError:
                    pass
        stream = sys.__stderr__
        if stream is not None:
            stream.write("\n" + text + "\n")
            stream.flush()
    except Exception:  # noqa: BLE001, S110 - nothing may keep pytest-timeout from exiting
        pass


def read_crash_note(crash_dir: Path | None, nodeid: str) -> str | None:
    if crash_dir is None:
        return None
    path = crash_dir / trace_file_name(nodeid)
    try:
        return path.read_text(encoding="utf-8").rstrip("\n")
    except OSError:
        return None
