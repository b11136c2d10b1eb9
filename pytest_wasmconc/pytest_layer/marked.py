"""A check a marker put on a test, and how what it finds becomes the exception that fails the test.

A check reports a pytest-free `CheckFailure` (runtime/extensions.py); the
test fails with `GuestHangError` when the failure is a hang, else with
`GuestCheckError`, the message prefixed by the marker's name.
"""

from __future__ import annotations

from ..runtime.extensions import Check, CheckFailure, Extension
from ..runtime.outcome import Outcome
from .errors import GuestCheckError, GuestHangError, WasmGuestFailure

__all__ = ["MarkedCheck", "as_exception"]


def as_exception(marker: str, found: object) -> WasmGuestFailure | None:
    """What a check's `inspect` returned, as the exception the test fails with (None: nothing found)."""
    __tracebackhide__ = True
    if found is None:
        return None
    if not isinstance(found, CheckFailure):  # a bug in the check, not in the test
        raise TypeError(f"@pytest.mark.{marker}: its check's inspect() returned {found!r}; "
                        "expected a pytest_wasmconc CheckFailure or None")
    kind = GuestHangError if found.hang else GuestCheckError
    return kind(f"{marker}: {found.message}")


class MarkedCheck:
    """A check a marker put on a test: attached to each of its executions, asked about each outcome."""

    def __init__(self, marker: str, check: Check) -> None:
        self.marker = marker
        self.check = check

    def extensions(self) -> list[Extension]:
        """What the runtime attaches to each execution of the test."""
        return [self.check]

    def cannot_act(self, program: object) -> str | None:
        """Why the marker can do nothing for this guest (a check's optional `cannot_act`), or None."""
        why = getattr(self.check, "cannot_act", None)
        reason = why(program) if callable(why) else None
        return f"@pytest.mark.{self.marker}: {reason}" if reason else None

    def failure(self, outcome: Outcome) -> WasmGuestFailure | None:
        """The exception this outcome fails the test with, or None."""
        __tracebackhide__ = True
        return as_exception(self.marker, self.check.inspect(outcome))

    def __repr__(self) -> str:
        return f"<MarkedCheck @{self.marker}: {type(self.check).__name__}>"
