"""poll_oneoff: what it waits on and which events it reports."""

from __future__ import annotations

import os
import sys

import pytest

from pytest_wasmconc.runtime.hostapi import Sleep, Until
from pytest_wasmconc.wasi import Errno, WasiConfig, WasiPreview1

from .fakes import Blocked, HostDriver
from .guest import Guest, sub_clock, sub_fd


def test_relative_monotonic_clock_sleeps(g: Guest) -> None:
    t0 = g.d.clock.monotonic  # type: ignore[attr-defined]
    assert g.poll([sub_clock(42, 1, 5_000_000)]) == (0, [(42, 0, 0, 0, 0)])
    assert g.d.waits == [Sleep(5_000_000)]  # type: ignore[attr-defined]
    assert g.d.clock.monotonic - t0 == 5_000_000  # type: ignore[attr-defined]


def test_absolute_clocks(g: Guest) -> None:
    clock = g.d.clock  # type: ignore[attr-defined]
    assert g.poll([sub_clock(1, 1, clock.monotonic + 700, absolute=True)])[1] == [(1, 0, 0, 0, 0)]
    assert g.d.waits[-1] == Sleep(700)  # type: ignore[attr-defined]
    n = len(g.d.waits)  # type: ignore[attr-defined]
    assert g.poll([sub_clock(1, 1, clock.monotonic - 5, absolute=True)])[1] == [(1, 0, 0, 0, 0)]
    assert len(g.d.waits) == n  # type: ignore[attr-defined]  # already due: no wait at all
    assert g.poll([sub_clock(2, 0, clock.realtime + 900, absolute=True)])[1] == [(2, 0, 0, 0, 0)]
    assert g.d.waits[-1] == Sleep(900)  # type: ignore[attr-defined]


def test_earliest_clock_fires_and_ties_fire_together(g: Guest) -> None:
    r, events = g.poll([sub_clock(1, 1, 300), sub_clock(2, 1, 100), sub_clock(3, 1, 100)])
    assert [e[0] for e in events] == [2, 3]


def test_ready_fds_and_due_clocks(g: Guest) -> None:
    _, f = g.path_open("f")
    r, events = g.poll(
        [sub_clock(9, 1, 10**9), sub_fd(1, 1, f), sub_fd(2, 2, 1), sub_clock(8, 1, 0)]
    )
    assert r == 0
    assert events == [(1, 0, 1, 1, 0), (2, 0, 2, 1, 0), (8, 0, 0, 0, 0)]
    assert g.d.waits == []  # type: ignore[attr-defined]


def test_errors(g: Guest) -> None:
    assert g.d.call("poll_oneoff", 0x6000, 0x7000, 0, 0x4000) == Errno.INVAL
    assert g.poll([sub_fd(1, 1, 77)])[0] == Errno.BADF
    assert g.poll([sub_fd(1, 1, 1)])[0] == Errno.BADF  # stdout cannot be read
    assert g.poll([sub_fd(1, 1, 3)])[0] == Errno.BADF  # nor a directory
    assert g.poll([sub_clock(1, 2, 10)])[0] == Errno.INVAL  # CPU-time clocks cannot be waited on


def test_stdin_subscription_waits_with_the_clock_as_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    r, wr = os.pipe()
    monkeypatch.setattr(sys, "stdin", type("S", (), {"fileno": lambda self: r})())
    w = WasiPreview1(WasiConfig(stdin="inherit"))
    d = HostDriver(w)
    g = Guest(d)
    # No data: times out through the clock subscription.
    rc, events = g.poll([sub_fd(1, 1, 0), sub_clock(2, 1, 1_000)])
    assert (rc, events) == (0, [(2, 0, 0, 0, 0)])
    wait = d.waits[-1]
    assert isinstance(wait, Until) and wait.timeout_ns == 1_000 and wait.external
    assert "fd_read(0)" in wait.describe
    # No clock: parks with no timeout.
    with pytest.raises(Blocked):
        g.poll([sub_fd(1, 1, 0)])
    os.write(wr, b"x")
    d.on_until = lambda wait: None
    import time

    deadline = time.monotonic() + 120  # the pipe is ready at once; this only bounds a failure
    while not wait.ready() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert g.poll([sub_fd(1, 1, 0)]) == (0, [(1, 0, 1, 1, 0)])
    w.close()
    os.close(wr)
    os.close(r)
