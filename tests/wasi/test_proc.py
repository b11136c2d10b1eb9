"""args/environ, clocks, randomness, proc_*, sched_yield and sockets."""

from __future__ import annotations

import pytest

from pytest_wasmconc.runtime.hostapi import GiveUp, GuestExit, GuestTrap
from pytest_wasmconc.wasi import Errno, WasiConfig, WasiPreview1

from .fakes import HostDriver
from .guest import Guest


def _g(**kw: object) -> Guest:
    return Guest(HostDriver(WasiPreview1(WasiConfig(**kw))))  # type: ignore[arg-type]


def test_args_and_environ() -> None:
    g = _g(args=["prog", "x y"], env={"K": "v"})
    assert g.d.call("args_sizes_get", 0x4000, 0x4004) == 0
    assert (g.u32(0x4000), g.u32(0x4004)) == (2, 9)
    assert g.d.call("args_get", 0x5000, 0x8000) == 0
    assert (g.u32(0x5000), g.u32(0x5004)) == (0x8000, 0x8005)
    assert g.d.read(0x8000, 9) == b"prog\0x y\0"
    assert g.d.call("environ_sizes_get", 0x4000, 0x4004) == 0
    assert (g.u32(0x4000), g.u32(0x4004)) == (1, 4)
    assert g.d.call("environ_get", 0x5000, 0x8000) == 0
    assert g.d.read(0x8000, 4) == b"K=v\0"


def test_clocks_come_from_the_host_call() -> None:
    g = _g()
    clock = g.d.clock  # type: ignore[attr-defined]
    for cid, expected in (
        (0, clock.realtime),
        (1, clock.monotonic),
        (2, clock.monotonic),
        (3, clock.monotonic),
    ):
        assert g.d.call("clock_time_get", cid, 0, 0x4000) == 0
        assert g.u64(0x4000) == expected
        assert g.d.call("clock_res_get", cid, 0x4000) == 0 and g.u64(0x4000) == 1
    with pytest.raises(GuestTrap):
        g.d.call("clock_time_get", 4, 0, 0x4000)


def test_random_is_seeded_through_the_call() -> None:
    a, b = _g(), _g()
    assert a.d.call("random_get", 0x8000, 32) == 0
    assert b.d.call("random_get", 0x8000, 32) == 0
    assert a.d.read(0x8000, 32) == b.d.read(0x8000, 32) != bytes(32)


def test_proc_exit_raises_guest_exit_and_is_traced() -> None:
    w = WasiPreview1(WasiConfig())
    g = Guest(HostDriver(w))
    with pytest.raises(GuestExit) as stop:
        g.d.call("proc_exit", 7)
    assert stop.value.code == 7
    assert w.trace[-1].result == "exit(7)"


def test_proc_raise_sched_yield() -> None:
    g = _g()
    assert g.d.call("proc_raise", 9) == Errno.NOTSUP
    assert g.d.call("sched_yield") == 0
    assert g.d.waits == [GiveUp()]  # type: ignore[attr-defined]  # gives up the processor, not a mere point


def test_sockets_are_not_sockets() -> None:
    g = _g()
    for fd in (0, 1, 2):
        assert g.d.call("sock_accept", fd, 0, 0x4000) == Errno.NOTSOCK
        assert g.d.call("sock_recv", fd, 0x3000, 1, 0, 0x4000, 0x4004) == Errno.NOTSOCK
        assert g.d.call("sock_send", fd, 0x3000, 1, 0, 0x4000) == Errno.NOTSOCK
        assert g.d.call("sock_shutdown", fd, 2) == Errno.NOTSOCK
    assert g.d.call("sock_shutdown", 50, 2) == Errno.BADF
    with pytest.raises(GuestTrap):
        g.d.call("sock_shutdown", 1, 4)


def test_bad_guest_pointers_trap_like_wasmtime() -> None:
    from pytest_wasmconc.runtime.hostapi import MemoryFault

    w = WasiPreview1(WasiConfig())
    g = Guest(HostDriver(w))
    with pytest.raises(MemoryFault):
        g.d.call("fd_write", 1, 0x20000, 1, 0x4000)
    assert w.trace[-1].result.startswith("trap")  # type: ignore[union-attr]
    with pytest.raises(MemoryFault):
        g.d.call("args_sizes_get", 0x20000, 0)


def test_invalid_utf8_and_nul_in_paths(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pytest_wasmconc.wasi import Preopen

    w = WasiPreview1(WasiConfig(preopens=[Preopen(tmp_path, ".")]))
    g = Guest(HostDriver(w))
    assert g.mkdir(b"\xff") == Errno.ILSEQ
    assert g.mkdir("a\0b") == Errno.INVAL
    w.close()
