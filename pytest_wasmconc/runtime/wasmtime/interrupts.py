"""Ctrl-C while guests run: native callbacks must not unwind into Rust, so SIGINT becomes a flag."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["INTERRUPTED", "INTERRUPT_MESSAGE", "callback_failure", "interrupts_deferred"]

# Ctrl-C lands wherever the main thread runs Python, often inside one of the
# callbacks below, which must not unwind into Rust. They turn it into a trap
# and raise this flag; the poll that returns re-raises KeyboardInterrupt on the
# scheduler's side, so the run stops cleanly (futures and stores released).
INTERRUPTED = [False]
_DEFERRING = [False]  # interrupts_deferred is active (on the main thread)
INTERRUPT_MESSAGE = "wasmconc: interrupted"


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """While driving futures on this thread, turn SIGINT into a flag checked after each poll.

    A KeyboardInterrupt raised at the first bytecode of a ctypes callback is
    swallowed by ctypes ("Exception ignored ...") and the interrupt is lost;
    with the flag it is raised by `CallFuture.poll`, outside native code.
    Only the main thread can install handlers; elsewhere this does nothing.
    """
    if _DEFERRING[0] or threading.current_thread() is not threading.main_thread():
        yield  # already deferred by an enclosing call (an exploration), or not the main thread
        return
    try:
        previous = signal.getsignal(signal.SIGINT)
    except ValueError:
        yield
        return
    if previous is not signal.default_int_handler:
        yield  # somebody else (a debugger, a test runner) owns SIGINT: leave it alone
        return

    def note(signum: int, frame: Any) -> None:
        INTERRUPTED[0] = True

    signal.signal(signal.SIGINT, note)
    _DEFERRING[0] = True
    try:
        yield
    finally:
        _DEFERRING[0] = False
        signal.signal(signal.SIGINT, previous)
        if INTERRUPTED[0]:
            INTERRUPTED[0] = False
            raise KeyboardInterrupt


def callback_failure(exc: BaseException, what: str) -> str:
    """The trap message for an exception caught in a native callback."""
    if isinstance(exc, KeyboardInterrupt):
        INTERRUPTED[0] = True
        return INTERRUPT_MESSAGE
    return f"wasmconc: internal error {what}: {exc!r}"
