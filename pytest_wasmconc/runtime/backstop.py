"""The wall-clock backstop seen from the front ends: did it end this execution, and how to move it.

The runtime's report says the guest was still running when the time was up;
only the front end knows the option that set the limit, so the hint naming
it is added there (CLI: --timeout, pytest: --wasm-timeout).
"""

from __future__ import annotations

from .outcome import Outcome, Status

__all__ = ["reached", "seconds"]


def reached(outcome: Outcome, timeout: float | None) -> bool:
    """True when `outcome` is a hang declared because the backstop of `timeout` seconds ran out."""
    return timeout is not None and outcome.status is Status.HANG and outcome.hang_limit == "timeout"


def seconds(timeout: float | None) -> str:
    """A timeout as its option value: "300", "2.5", or "none"."""
    return "none" if timeout is None else f"{timeout:g}"
