"""How an execution ends: the first cause (`End`), the exit mark, which ends trace every thread.

`EXIT_MARK` is the trap message that unwinds a guest thread when the guest
exits (proc_exit, main returning): it is how the end reaches every thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..outcome import Status

__all__ = ["EXIT_MARK", "TRACED_ENDS", "End", "trap_reason"]

EXIT_MARK = "wasmconc: guest exited"
# Ends whose report shows where every guest thread was (each is stopped with its backtrace).
TRACED_ENDS = (Status.DEADLOCK, Status.HANG, Status.TRAPPED)


@dataclass
class End:
    """Why an execution ended (first cause wins)."""

    status: Status
    exit_code: int | None = None
    thread: int | None = None
    message: str | None = None
    host_exception: BaseException | None = None
    host_traceback: str | None = None
    limit: str | None = None  # a hang: the limit that ended it ("timeout", "max-steps")


def trap_reason(message: str) -> str:
    """The cause line of a wasmtime trap/error message (without the backtrace)."""
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    if "Caused by:" in lines:
        rest = lines[lines.index("Caused by:") + 1:]
        cause = rest[-1] if rest else lines[0]
    else:
        cause = lines[0] if lines else message
    for prefix in ("wasm trap: ",):
        cause = cause.removeprefix(prefix)
    if cause.startswith("0:") or cause.startswith("error while executing"):
        cause = lines[-1]
    return cause
