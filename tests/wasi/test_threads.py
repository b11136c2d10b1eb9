"""The shared state under real OS threads (as the OS-thread mode calls it)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from pytest_wasmconc.wasi import Errno, Preopen, WasiConfig, WasiPreview1
from pytest_wasmconc.wasi.layout import RIGHTS_ALL

from .fakes import FakeClock, HostDriver
from .guest import RIGHTS_RO, Guest

THREADS = 8


def _run(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
        assert not t.is_alive()


def test_concurrent_open_read_close_never_mixes_files(tmp_path: Path) -> None:
    """If a closed fd's number (ours, or the host's) were reused under a
    concurrent read, some thread would read another thread's file."""
    for i in range(THREADS):
        (tmp_path / f"file{i}").write_bytes(f"content-of-{i}|".encode() * 50)
    w = WasiPreview1(WasiConfig(preopens=[Preopen(tmp_path, ".")]))
    clock = FakeClock()
    errors: list[str] = []

    def worker(i: int) -> None:
        g = Guest(HostDriver(w, thread_id=i + 1, clock=clock))
        expected = f"content-of-{i}|".encode() * 50
        for _ in range(150):
            r, fd = g.path_open(f"file{i}", rights=RIGHTS_RO)
            if r:
                errors.append(f"open {r}")
                continue
            r, data = g.read(fd, 10_000)
            if r or data != expected:
                errors.append(f"thread {i} read {r} {data[:20]!r}")
            if g.close(fd):
                errors.append("close")

    _run([threading.Thread(target=worker, args=(i,)) for i in range(THREADS)])
    assert errors == []
    assert w.open_fds() == [0, 1, 2, 3]
    w.close()


def test_close_racing_with_reads_of_the_same_fd(tmp_path: Path) -> None:
    """Reads of an fd that another thread closes either succeed with the right
    data or fail with EBADF, never read from a recycled descriptor."""
    (tmp_path / "shared").write_bytes(b"S" * 100_000)
    (tmp_path / "other").write_bytes(b"O" * 100_000)
    w = WasiPreview1(WasiConfig(preopens=[Preopen(tmp_path, ".")]))
    bad: list[bytes] = []
    stop = threading.Event()

    def reopener() -> None:
        g = Guest(HostDriver(w, thread_id=1))
        while not stop.is_set():
            r, fd = g.path_open("shared", rights=RIGHTS_RO)
            assert r == 0
            g.close(fd)

    def other_opener() -> None:
        g = Guest(HostDriver(w, thread_id=2))
        while not stop.is_set():
            r, fd = g.path_open("other", rights=RIGHTS_RO)
            g.close(fd)

    def reader() -> None:
        g = Guest(HostDriver(w, thread_id=3))
        for _ in range(3000):
            for fd in (4, 5):
                r, data = g.read(fd, 64)
                if r == 0 and data and set(data) - {ord("S"), ord("O")}:
                    bad.append(data)

    threads = [threading.Thread(target=f) for f in (reopener, other_opener)]
    for t in threads:
        t.start()
    reader_thread = threading.Thread(target=reader)
    reader_thread.start()
    reader_thread.join(120)
    stop.set()
    for t in threads:
        t.join(60)
    assert bad == []
    w.close()


def test_concurrent_creates_get_distinct_fds_and_files(tmp_path: Path) -> None:
    w = WasiPreview1(WasiConfig(preopens=[Preopen(tmp_path, ".")]))
    fds: list[list[int]] = [[] for _ in range(THREADS)]

    def worker(i: int) -> None:
        g = Guest(HostDriver(w, thread_id=i))
        for j in range(40):
            r, fd = g.path_open(f"t{i}_{j}", oflags=1, rights=RIGHTS_ALL)
            assert r == 0
            assert g.write(fd, f"{i}:{j}".encode()) == (0, len(f"{i}:{j}"))
            fds[i].append(fd)

    _run([threading.Thread(target=worker, args=(i,)) for i in range(THREADS)])
    flat = [fd for per in fds for fd in per]
    assert len(set(flat)) == len(flat) == THREADS * 40
    assert sorted(flat) == list(range(4, 4 + THREADS * 40))
    for i in range(THREADS):
        for j in range(40):
            assert (tmp_path / f"t{i}_{j}").read_text() == f"{i}:{j}"
    w.close()


def test_concurrent_stdout_writes_are_whole_and_ordered(tmp_path: Path) -> None:
    w = WasiPreview1(WasiConfig())

    def worker(i: int) -> None:
        g = Guest(HostDriver(w, thread_id=i))
        for j in range(200):
            g.write(1, f"<{i}:{j}>".encode())

    _run([threading.Thread(target=worker, args=(i,)) for i in range(THREADS)])
    events = w.output_events
    assert len(events) == THREADS * 200
    for i in range(THREADS):
        mine = [data for tid, stream, data in events if tid == i]
        assert mine == [f"<{i}:{j}>".encode() for j in range(200)]
    assert w.stdout == b"".join(data for _, _, data in events)
    w.close()


def test_concurrent_renumber_and_close_keep_the_table_consistent(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    host_fds_before = len(os.listdir("/proc/self/fd"))
    w = WasiPreview1(WasiConfig(preopens=[Preopen(tmp_path, ".")]))

    def worker(i: int) -> None:
        g = Guest(HostDriver(w, thread_id=i))
        for _ in range(200):
            r1, a = g.path_open("f", rights=RIGHTS_RO)
            r2, b = g.path_open("f", rights=RIGHTS_RO)
            assert r1 == r2 == 0
            # Another thread may have renumbered onto/closed these numbers in
            # between; both outcomes are legal, corruption is not.
            assert g.d.call("fd_renumber", a, b) in (0, Errno.BADF)
            g.close(b)
            g.close(a)

    _run([threading.Thread(target=worker, args=(i,)) for i in range(THREADS)])
    # Threads may close each other's (recycled) numbers, so some guest fds can
    # be left open; what must hold is that closing the table frees every host fd.
    assert w.open_fds()[:4] == [0, 1, 2, 3]
    w.close()
    assert len(os.listdir("/proc/self/fd")) == host_fds_before
