"""pytest-timeout cooperation: end guests cleanly before pytest-timeout acts.

pytest-timeout's `signal` method cannot interrupt a wasm call, and its
`thread` method dumps stacks and `os._exit`s (under xdist: "worker crashed").
So the plugin learns each test's timeout through pytest-timeout's
`pytest_timeout_set_timer` hook and gives every guest execution a wall-clock
backstop that ends it a margin before the test's deadline: the test then
fails normally, with the guest report. For the `thread` method the plugin
also takes over the timer, so that if anything else is still running at the
deadline, what is known about the guest is written out before the hard exit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

__all__ = [
    "DEADLINE_KEY",
    "Deadline",
    "clear_timer",
    "margin_for",
    "record_timer",
    "remaining",
    "start_thread_timer",
]


@dataclass(frozen=True)
class Deadline:
    """A test's pytest-timeout deadline (monotonic clock)."""

    expires: float
    timeout: float
    method: str

    def remaining(self) -> float:
        return self.expires - time.monotonic()


DEADLINE_KEY = pytest.StashKey[Deadline]()


def margin_for(timeout: float) -> float:
    """How long before a test's timeout guests are ended: time left to fail with a report.

    Two seconds at least (stopping every guest thread, collecting backtraces
    and writing the report take well under one on an idle machine, but CI
    machines are busy), a tenth of long timeouts, never more than half.
    """
    return min(max(2.0, 0.1 * timeout), timeout / 2)


def record_timer(item: pytest.Item, settings: Any) -> None:
    item.stash[DEADLINE_KEY] = Deadline(time.monotonic() + float(settings.timeout), float(settings.timeout),
                                        str(settings.method))


def clear_timer(item: pytest.Item) -> None:
    if DEADLINE_KEY in item.stash:
        del item.stash[DEADLINE_KEY]


def remaining(item: pytest.Item) -> tuple[float, Deadline] | None:
    """Seconds guests may still run in this test (deadline minus margin), or None without a timeout."""
    deadline = item.stash.get(DEADLINE_KEY, None)
    if deadline is None:
        return None
    return deadline.remaining() - margin_for(deadline.timeout), deadline


def start_thread_timer(item: pytest.Item, settings: Any, before_exit: Callable[[], None]) -> None:
    """pytest-timeout's thread method, with `before_exit` run first (it writes the guest report out)."""
    import pytest_timeout

    def fire() -> None:
        try:
            before_exit()
        finally:
            pytest_timeout.timeout_timer(item, settings)

    # The timer only waits on an Event: it never competes for the GIL while the scheduler runs.
    timer = threading.Timer(float(settings.timeout), fire)
    timer.name = f"pytest-wasmconc timeout {item.nodeid}"
    timer.daemon = True

    def cancel() -> None:
        timer.cancel()
        timer.join()

    # pytest-timeout's own cancel hook calls `item.cancel_timeout`: the same contract as its timers.
    item.cancel_timeout = cancel  # type: ignore[attr-defined]
    timer.start()
