"""The bounded call trace."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_wasmconc.runtime.hostapi import GuestTrap
from pytest_wasmconc.wasi import Errno, Preopen, TraceEntry, WasiConfig, WasiPreview1

from .fakes import HostDriver
from .guest import Guest


def test_entries_record_thread_call_args_result(tmp_path: Path) -> None:
    w = WasiPreview1(WasiConfig(preopens=[Preopen(tmp_path, ".")]))
    g1 = Guest(HostDriver(w, thread_id=1))
    g2 = Guest(HostDriver(w, thread_id=2))
    g1.write(1, b"hi")
    g2.close(42)
    t = w.trace
    assert t[0].thread_id == 1 and t[0].call == "fd_write" and t[0].result == 0
    assert t[0].args[0] == 1 and len(t[0].args) == 4
    assert t[1] == TraceEntry(2, "fd_close", (42,), Errno.BADF)
    assert str(t[1]) == "[t2] fd_close(42) -> 8"


def test_trace_keeps_the_tail() -> None:
    w = WasiPreview1(WasiConfig(trace_limit=5))
    g = Guest(HostDriver(w))
    for fd in range(100, 120):
        g.close(fd)
    assert [e.args[0] for e in w.trace] == list(range(115, 120))
    assert w.trace_dropped == 15


def test_trace_limit_zero_keeps_nothing() -> None:
    w = WasiPreview1(WasiConfig(trace_limit=0))
    Guest(HostDriver(w)).close(9)
    assert w.trace == []


def test_traps_are_traced() -> None:
    w = WasiPreview1(WasiConfig())
    g = Guest(HostDriver(w))
    with pytest.raises(GuestTrap):
        g.d.call("fd_seek", 1, 0, 7, 0x4000)
    assert w.trace[-1].call == "fd_seek"
    assert str(w.trace[-1].result).startswith("trap: invalid enum value Whence")


def test_blocking_calls_are_traced_when_they_finish() -> None:
    w = WasiPreview1(WasiConfig())
    g = Guest(HostDriver(w))
    g.d.call("sched_yield")
    assert w.trace[-1] == TraceEntry(0, "sched_yield", (), 0)
