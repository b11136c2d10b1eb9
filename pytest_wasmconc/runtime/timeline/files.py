"""Writing a timeline: `NAME.trace.json` (Chrome trace events) and `NAME.timeline.html` side by side."""

from __future__ import annotations

import re
from pathlib import Path

from .chrome_trace import chrome_trace_json
from .html_page import html_page
from .model import Timeline

__all__ = ["TRACE_SUFFIX", "HTML_SUFFIX", "file_stem", "write_timeline"]

TRACE_SUFFIX = ".trace.json"
HTML_SUFFIX = ".timeline.html"


def file_stem(text: str) -> str:
    """A file name made of `text` (a test id, a guest name): word characters, dots and dashes."""
    return re.sub(r"[^\w.-]+", "_", text).strip("_")[:180] or "guest"


def write_timeline(tl: Timeline, directory: Path, stem: str) -> tuple[Path, Path]:
    """Write both files into `directory` (made if missing); their paths (trace JSON, HTML page)."""
    directory.mkdir(parents=True, exist_ok=True)
    trace = directory / f"{stem}{TRACE_SUFFIX}"
    page = directory / f"{stem}{HTML_SUFFIX}"
    trace.write_text(chrome_trace_json(tl), encoding="utf-8")
    page.write_text(html_page(tl), encoding="utf-8")
    return trace, page
