"""What "fails the same way" means: an outcome's class, which a shrunk schedule must keep.

- exited: the exit code;
- trapped: the kind of trap, the first line of its message with numbers blanked (an address or
  a count may differ between schedules; "out of bounds memory access" may not);
- deadlock: the cycle, as the set of (thread, what it waits on) of every blocked thread;
- hang: which limit ended it (the step budget; the wall-clock backstop is no schedule's doing);
- and, when a race check reported races, the set of racing site pairs.

Which thread exited or trapped is not part of it: reordering threads may change who gets there
first, and the failure is the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..checks.races import races_of
from ..runtime.outcome import Outcome, Status

__all__ = ["OutcomeClass", "outcome_class"]

_NUMBER = re.compile(r"0x[0-9a-fA-F]+|\d+")


@dataclass(frozen=True)
class OutcomeClass:
    status: Status
    detail: str | int | None = None  # exit code, trap kind, hang limit
    waits: frozenset[tuple[int, str]] = frozenset()  # a deadlock's blocked threads and their waits
    races: frozenset[frozenset[int]] = frozenset()  # racing site pairs

    def describe(self) -> str:
        if self.status is Status.EXITED:
            text = f"exit code {self.detail}"
        elif self.status is Status.TRAPPED:
            text = f"trap: {self.detail}" if self.detail else "trap"
        elif self.status is Status.DEADLOCK:
            text = f"deadlock of {len(self.waits)} blocked thread{'s' if len(self.waits) != 1 else ''}"
        else:
            text = f"hang ({self.detail})"
        if self.races:
            text += f", {len(self.races)} racing pair{'s' if len(self.races) != 1 else ''}"
        return text


def trap_kind(message: str | None) -> str:
    lines = (message or "").strip().splitlines()
    return _NUMBER.sub("#", lines[0]).strip() if lines else ""


def outcome_class(outcome: Outcome, *, races: bool = True) -> OutcomeClass:
    """`outcome`'s class; `races=False` leaves a race check's findings out."""
    pairs: frozenset[frozenset[int]] = frozenset()
    found = races_of(outcome) if races else None
    if found is not None:
        pairs = frozenset(frozenset((r.previous_site.at, r.current_site.at)) for r in found.reports)
    status = outcome.status
    if status is Status.EXITED:
        return OutcomeClass(status, outcome.exit_code, races=pairs)
    if status is Status.TRAPPED:
        return OutcomeClass(status, trap_kind(outcome.trap_message), races=pairs)
    if status is Status.DEADLOCK:
        waits = frozenset((t.tid, t.waiting_on) for t in outcome.threads if t.waiting_on)
        return OutcomeClass(status, waits=waits, races=pairs)
    return OutcomeClass(status, outcome.hang_limit, races=pairs)
