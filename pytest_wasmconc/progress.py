"""The progress line of a long `wasmconc explore`: schedules done, rate, outcomes so far, elapsed time.

On a terminal one line is redrawn in place (a few times a second); with
`--progress` where stderr is no terminal (a CI log), a line is printed now
and then instead. The first schedule is always shown at once: a user (and a
test) sees the exploration is under way. After Ctrl-C the line is what the
interrupted exploration had done, which `interrupted` says with the seed.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["ProgressLine"]

_TTY_INTERVAL_S = 0.25  # a redrawn line: often enough to look alive
_LOG_INTERVAL_S = 5.0  # printed lines: few enough for a CI log
_CLEAR_TO_END = "\x1b[K"


class ProgressLine:
    """Called after each schedule (`Runner.explore(progress=...)`); writes to `stream`."""

    def __init__(self, total: int, stream: TextIO, *, redraw: bool, visible: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.stream = stream
        self.visible = visible  # counts either way: an interrupted exploration says how far it got
        self.redraw = redraw  # a terminal: one line redrawn; else one line per update
        self.clock = clock
        self.count = 0
        self.outcomes: Counter[str] = Counter()
        self.started = clock()
        self._last: float | None = None
        self._drawn = False

    def __call__(self, count: int, outcome: Any) -> None:
        self.count = count
        self.outcomes[outcome.summary()] += 1
        if not self.visible:
            return
        now = self.clock()
        interval = _TTY_INTERVAL_S if self.redraw else _LOG_INTERVAL_S
        if self._last is None or now - self._last >= interval:
            self._last = now
            self._write(self.line(now))

    def line(self, now: float | None = None) -> str:
        elapsed = (self.clock() if now is None else now) - self.started
        rate = f"{self.count / elapsed:.0f}/s" if elapsed > 0 else "-/s"
        kinds = ", ".join(f"{label} x{n}" for label, n in self.outcomes.most_common())
        return (f"wasmconc: {self.count}/{self.total} schedules, {rate}, {elapsed:.1f} s"
                + (f"; outcomes: {kinds}" if kinds else ""))

    def _write(self, line: str) -> None:
        if self.redraw:
            self.stream.write(f"\r{line}{_CLEAR_TO_END}")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        """Take the redrawn line away before the report is printed."""
        if self.redraw and self._drawn:
            self.stream.write(f"\r{_CLEAR_TO_END}")
            self.stream.flush()

    def interrupted(self, seed: int, seed_source: str) -> str:
        """What an interrupted exploration had done, and how to explore the same schedules again."""
        kinds = ", ".join(f"{label} x{n}" for label, n in self.outcomes.most_common()) or "none yet"
        return (f"wasmconc: interrupted after {self.count} of {self.total} schedules in "
                f"{self.clock() - self.started:.1f} s (outcomes: {kinds}); seed {seed} ({seed_source}): "
                f"--seed {seed} explores the same schedules again")
