"""The execution's clocks: virtual (deterministic) or real."""

from __future__ import annotations

import time

__all__ = ["Clock", "RealClock", "VirtualClock"]

# 2024-01-01T00:00:00Z: a fixed, plausible wall-clock origin for replays.
VIRTUAL_REALTIME_ORIGIN_NS = 1_704_067_200 * 1_000_000_000
# How far one clock read moves virtual time: reads must be strictly
# increasing for guests that spin until the clock moves.
READ_TICK_NS = 1_000
# The most one read or yield of a spinning thread moves it (threads.GuestThread.spin_tick).
SPIN_TICK_MAX_NS = 1_000_000


class VirtualClock:
    """Monotonic time that only the scheduler moves.

    It advances by the fuel each quantum used (1 fuel ~ 1 ns), by a tick per
    read or yield (growing while a thread does nothing but read and yield),
    and jumps to the earliest deadline when every thread sleeps, so a guest
    sleeping 10 s finishes at once and the same schedule reads the same times.
    """

    deterministic = True

    def __init__(self) -> None:
        self._now = 0

    def now_ns(self) -> int:
        return self._now

    def read_monotonic(self, tick_ns: int = READ_TICK_NS) -> int:
        self._now += tick_ns
        return self._now

    def read_realtime(self, tick_ns: int = READ_TICK_NS) -> int:
        return VIRTUAL_REALTIME_ORIGIN_NS + self.read_monotonic(tick_ns)

    def advance(self, ns: int) -> None:
        if ns > 0:
            self._now += ns

    def advance_to(self, deadline_ns: int) -> None:
        self._now = max(self._now, deadline_ns)


class RealClock:
    """The host's clocks (epoch and OS-thread modes)."""

    deterministic = False

    def now_ns(self) -> int:
        return time.monotonic_ns()

    def read_monotonic(self, tick_ns: int = 0) -> int:
        return time.monotonic_ns()

    def read_realtime(self, tick_ns: int = 0) -> int:
        return time.time_ns()

    def advance(self, ns: int) -> None:
        pass

    def advance_to(self, deadline_ns: int) -> None:
        pass


Clock = VirtualClock | RealClock
