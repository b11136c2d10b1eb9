"""stdin sources, blocking reads, captured output and passthrough."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from pytest_wasmconc.runtime.hostapi import Until
from pytest_wasmconc.wasi import Errno, WasiConfig, WasiPreview1

from .fakes import Blocked, HostDriver
from .guest import Guest


def _guest(**kw: object) -> tuple[WasiPreview1, HostDriver, Guest]:
    w = WasiPreview1(WasiConfig(**kw))  # type: ignore[arg-type]
    d = HostDriver(w)
    return w, d, Guest(d)


def test_no_stdin_is_immediate_eof() -> None:
    w, d, g = _guest()
    assert g.read(0, 10) == (0, b"")
    assert d.waits == []
    w.close()


def test_bytes_stdin_never_blocks() -> None:
    w, d, g = _guest(stdin=b"abcdef")
    assert g.read(0, 4) == (0, b"abcd")
    assert g.read(0, 4) == (0, b"ef")
    assert g.read(0, 4) == (0, b"")
    assert d.waits == []
    w.close()


def test_file_stdin(tmp_path: Path) -> None:
    p = tmp_path / "in.txt"
    p.write_bytes(b"from a file")
    w, d, g = _guest(stdin=p)
    assert g.read(0, 100) == (0, b"from a file")
    assert g.read(0, 100) == (0, b"")
    w.close()


def test_fifo_stdin_blocks_until_data_and_wakes(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    wakes = threading.Semaphore(0)
    w, d, g = _guest(stdin=str(fifo))
    w.set_waker(wakes.release)
    writer = os.open(fifo, os.O_WRONLY)
    fed: list[int] = []

    def feed(wait: Until) -> None:
        # The runtime's part: the guest parked on an external wait; data arrives.
        assert wait.external and wait.describe == "fd_read(0)" and wait.timeout_ns is None
        if not fed:
            os.write(writer, b"typed")
            fed.append(1)
        assert wakes.acquire(timeout=120)  # returns once woken

    d.on_until = feed
    assert g.read(0, 100) == (0, b"typed")
    assert any(isinstance(x, Until) for x in d.waits)
    os.close(writer)

    def wait_for_eof(wait: Until) -> None:
        wakes.acquire(timeout=120)

    d.on_until = wait_for_eof
    assert g.read(0, 100) == (0, b"")  # writer closed: EOF
    w.close()


def test_inherit_stdin_reads_the_process_stdin_via_a_pump(monkeypatch: pytest.MonkeyPatch) -> None:
    r, wr = os.pipe()

    class FakeStdin:
        def fileno(self) -> int:
            return r

    monkeypatch.setattr(sys, "stdin", FakeStdin())
    w, d, g = _guest(stdin="inherit")
    arrived = threading.Event()
    w.set_waker(arrived.set)
    with pytest.raises(Blocked) as blocked:
        g.read(0, 10)  # nothing yet, and the fake runtime has no one to wait for
    assert blocked.value.wait.external
    os.write(wr, b"hi")
    assert arrived.wait(120)  # returns once the pump delivered
    assert g.read(0, 10) == (0, b"hi")
    os.close(wr)

    def wait_for_eof(wait: Until) -> None:
        arrived.wait(120)

    d.on_until = wait_for_eof
    arrived.clear()
    assert g.read(0, 10) == (0, b"")
    w.close()
    os.close(r)


def test_zero_length_read_of_empty_pump_does_not_block(monkeypatch: pytest.MonkeyPatch) -> None:
    r, wr = os.pipe()
    monkeypatch.setattr(sys, "stdin", type("S", (), {"fileno": lambda self: r})())
    w, d, g = _guest(stdin="inherit")
    assert g.read(0, 0) == (0, b"")
    w.close()
    os.close(wr)
    os.close(r)


def test_stdout_stderr_capture_and_event_order() -> None:
    w = WasiPreview1(WasiConfig())
    t1 = Guest(HostDriver(w, thread_id=1))
    t2 = Guest(HostDriver(w, thread_id=2))
    t1.write(1, b"one ")
    t2.write(2, b"err ")
    t2.write(1, b"two")
    t1.write(2, b"!")
    assert w.stdout == b"one two"
    assert w.stderr == b"err !"
    assert w.output_events == [(1, 1, b"one "), (2, 2, b"err "), (2, 1, b"two"), (1, 2, b"!")]
    w.close()


def test_renumbered_stdout_is_still_stream_1() -> None:
    w = WasiPreview1(WasiConfig())
    g = Guest(HostDriver(w))
    assert g.d.call("fd_renumber", 1, 2) == 0
    g.write(2, b"x")
    assert w.stdout == b"x" and w.stderr == b""
    w.close()


def test_passthrough_copies_to_the_real_streams(capfd: pytest.CaptureFixture[str]) -> None:
    w = WasiPreview1(WasiConfig(stdout_passthrough=True))
    g = Guest(HostDriver(w))
    g.write(1, b"to stdout\n")
    g.write(2, b"to stderr\n")
    out, err = capfd.readouterr()
    assert "to stdout" in out and "to stderr" in err
    assert w.stdout == b"to stdout\n"
    w.close()


def test_stdin_rights_and_filestat() -> None:
    w, d, g = _guest(stdin=b"x")
    assert g.fdstat(0)[1][2] == 2
    assert g.fstat(0) == (0, (0,) * 8)
    assert g.d.call("fd_fdstat_set_flags", 0, 4) == Errno.BADF
    w.close()
