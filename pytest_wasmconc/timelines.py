"""Timelines as both front ends write them: the checks' findings marked, both files written, one line naming them.

The runtime's timeline (runtime/timeline/) marks what the runtime knows: a
trap, a deadlock, a hang, a failing exit. A check's verdict lives above the
runtime, so it is marked here: a data race as an arrow between the two
threads of each racing pair (the race check knows their threads and sites,
not the moment of either access: both marks sit at the end), a lock-order
inversion and a stream violation as marks of the whole execution.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .checks.lock_order import lock_order_of
from .checks.races import races_of
from .checks.streams import verdict_of
from .runtime.timeline.files import write_timeline
from .runtime.timeline.model import RACE, Arrow

if TYPE_CHECKING:
    from .runtime import Outcome
    from .runtime.timeline import Timeline

__all__ = ["mark_checks", "save"]


def mark_checks(tl: Timeline, outcome: Outcome) -> None:
    """Mark what the checks found in `outcome` (the execution `tl` shows) on `tl`."""
    found = races_of(outcome)
    if found is not None:
        pairs: set[tuple[int, int]] = set()
        for report in found.reports:
            a, b = report.current, report.previous
            fa, fb = report.functions
            ka, kb = ("write" if a.write else "read"), ("write" if b.write else "read")
            what = f"data race on {a.addr:#x}: {ka} in {fa} by thread {a.tid}, {kb} in {fb} by thread {b.tid}"
            # Each thread's mark says its own access; the arrow, the pair.
            tl.mark_failure(a.tid, f"data race on {a.addr:#x}: {ka} in {fa}", pair=what)
            if b.tid != a.tid:
                tl.mark_failure(b.tid, f"data race on {b.addr:#x}: {kb} in {fb}", pair=what)
                if (b.tid, a.tid) not in pairs:  # one arrow per pair of threads
                    pairs.add((b.tid, a.tid))
                    tl.arrows.append(Arrow(RACE, b.tid, tl.end, a.tid, tl.end, what))
        tl.failed = True
        tl.summary += ", data race"
    check = lock_order_of(outcome)
    if check is not None and check.failed:
        tl.mark_failure(None, "lock-order inversion (a potential deadlock): see the report")
        tl.failed = True
        tl.summary += ", lock-order inversion"
    verdict = verdict_of(outcome)
    if verdict is not None and verdict.failed:
        tl.mark_failure(None, "stream protocol violation: see the report")
        tl.failed = True
        tl.summary += ", stream protocol violation"


def _relative(path: str) -> str:
    """A guest path under the current directory as the user would type it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return path if rel.startswith("..") or os.path.isabs(rel) else rel


def save(tl: Timeline, outcome: Outcome, directory: Path, stem: str, *, failed: bool | None = None) -> str:
    """Mark the checks, write both files; the line that names them ("timeline: A.trace.json, A.timeline.html")."""
    if failed is not None:
        tl.failed = failed
    tl.title = _relative(tl.title)
    mark_checks(tl, outcome)
    trace, page = write_timeline(tl, directory, stem)
    return f"timeline: {trace} (Chrome trace events: Perfetto, chrome://tracing), {page} (open in a browser)"
