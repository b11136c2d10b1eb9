"""An exploration whose next schedule depends on what the earlier ones showed.

`Runner.explore` runs schedule i with seed i of one policy: every schedule is
known in advance. Some explorations learn as they go (the race-directed
default of `wasmconc explore`, `directed.py`: the first schedules find the
racy accesses, the later ones preempt at them). A `SchedulePlan` gives each
position of such an exploration its settings and extensions, then sees its
outcome; `Runner.explore_plan` runs it. Every schedule is an ordinary
execution with its own token, so it replays alone whatever the plan was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .extensions import Extension
from .outcome import Outcome
from .settings import RunSettings

__all__ = ["PlannedRun", "SchedulePlan"]


@dataclass(frozen=True)
class PlannedRun:
    """One schedule of a plan: how to run it."""

    settings: RunSettings
    extensions: Sequence[Extension] = ()


class SchedulePlan(Protocol):
    def next_run(self, position: int) -> PlannedRun:
        """The schedule at `position` (0, 1, 2, ... in order), from what the earlier ones showed."""

    def cannot_run(self, position: int, error: Exception) -> PlannedRun | None:
        """The schedule at `position` could not run (`error`, a WasmconcError: the guest cannot be loaded
        or run that way); another way to run that position, or None to let the error end the exploration."""

    def observe(self, position: int, outcome: Outcome) -> None:
        """What the schedule at `position` did; called before the exploration judges it, so a plan
        may take out of the outcome what only it asked for (a check of its own)."""
