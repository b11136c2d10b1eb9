"""Timelines of guest executions: what each guest thread did when, for people to look at.

model         the Timeline: lanes of spans (running, parked), instants, arrows, the failure marked
recorder      the per-execution event recorder (only when a timeline is asked for) and its hooks
build         the recorder's events paired up into a Timeline
locks         the lock pass a recording execution runs with (lock acquisitions and releases)
chrome_trace  a Timeline as Chrome trace-event JSON (Perfetto, chrome://tracing, speedscope)
html_page     a Timeline as one self-contained HTML page (an inline SVG, no scripts)
files         both written side by side: NAME.trace.json, NAME.timeline.html

`Runner.execute(..., timeline=True)` records one execution (`outcome.timeline`);
`Runner.retrace(...)` gives a finished fuel-mode execution's timeline by running
its schedule again with the recorder on.
"""

from __future__ import annotations

from .chrome_trace import chrome_trace, chrome_trace_json
from .files import HTML_SUFFIX, TRACE_SUFFIX, file_stem, write_timeline
from .html_page import html_page
from .model import Arrow, Instant, Lane, Span, Timeline

__all__ = [
    "HTML_SUFFIX", "TRACE_SUFFIX", "Arrow", "Instant", "Lane", "Span", "Timeline", "chrome_trace",
    "chrome_trace_json", "file_stem", "html_page", "write_timeline",
]
