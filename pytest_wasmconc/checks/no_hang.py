"""The no-hang check: an execution that deadlocked or hung is a failure.

What `wasm_no_hang` asks of every execution of a test. Its bounds (a step
bound, a wall-clock limit) are run settings, resolved with the test's other
settings (pytest_layer/precedence.py); the check only reads the status.
"""

from __future__ import annotations

from ..runtime.extensions import Check, CheckFailure
from ..runtime.outcome import Outcome, Status

__all__ = ["NoHangCheck"]


class NoHangCheck(Check):
    """A deadlock or a hang of the guest fails the check."""

    def inspect(self, outcome: Outcome) -> CheckFailure | None:
        if outcome.status is Status.DEADLOCK:
            return CheckFailure("a guest execution deadlocked", hang=True)
        if outcome.status is Status.HANG:
            return CheckFailure("a guest execution hung", hang=True)
        return None
