"""Timelines of a test's guest executions under --wasm-trace-dir: when they are recorded, how they are written.

A fuel-mode execution is not recorded as it runs: exploring hundreds of
schedules with the recorder on would cost every one of them. Its record keeps
how to run its schedule again (`Runner.retrace`), and the report hook does so
once, for the execution the report explains. Epoch and os mode cannot replay
a schedule, so there every execution records as it runs while --wasm-trace-dir
is set (and only then).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .records import GuestRecord
from .state import STATE_KEY

if TYPE_CHECKING:
    from ..runtime import GuestIO, Outcome, Program, Runner, RunSettings
    from ..runtime.timeline import Timeline

__all__ = ["live", "source", "tracing", "write"]


def tracing(item: pytest.Item) -> bool:
    """Whether this session writes timelines (--wasm-trace-dir, ini wasm_trace_dir, PYTEST_WASM_TRACE_DIR)."""
    state = item.config.stash.get(STATE_KEY, None)
    return state is not None and state.options.trace_dir.value is not None


def live(item: pytest.Item, settings: RunSettings) -> bool:
    """Record each execution as it runs: tracing, in a mode that cannot replay a schedule."""
    return tracing(item) and settings.preempt.value != "fuel"


def source(runner: Runner, program: Program, io: GuestIO, settings: RunSettings, outcome: Outcome,
           extensions: Sequence[Any], imports: Any) -> Callable[[], Timeline | None]:
    """How to get `outcome`'s timeline later: recorded already, or its schedule run again with the recorder."""
    def timeline() -> Timeline | None:
        return runner.retrace(program, io, outcome, settings, extensions=extensions, imports=imports)

    return timeline


def write(item: pytest.Item, record: GuestRecord, directory: Path, *, failed: bool) -> str | None:
    """Write the record's timeline next to the test's trace file; the line naming both files (None: no
    timeline, e.g. a component guest). Errors become the line, never the test's exception."""
    if record.timeline is None:
        return None
    try:
        tl = record.timeline()
        if tl is None:
            return None
        # Imported here: they load the checks and Wasmtime, which a session without wasm tests never needs.
        from .. import timelines  # noqa: PLC0415
        from ..runtime.timeline.files import file_stem  # noqa: PLC0415

        return timelines.save(tl, record.outcome, directory, file_stem(item.nodeid), failed=failed)
    except OSError as exc:
        return f"--wasm-trace-dir {directory}: cannot write the timeline: {exc.strerror or exc}"
    except Exception as exc:  # a re-run that cannot be made: said in the report, the test's own result stands
        return f"--wasm-trace-dir {directory}: no timeline: {type(exc).__name__}: {exc}"
