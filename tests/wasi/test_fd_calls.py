"""fd_* calls through the fake runtime: data movement, iovecs, errnos."""

from __future__ import annotations

from pathlib import Path

from pytest_wasmconc.wasi import Errno
from pytest_wasmconc.wasi.layout import RIGHTS_ALL, Fdflags, Filetype

from .guest import IOVS, OUT, RIGHTS_DIR, RIGHTS_RO, Guest


def test_read_write_seek_tell(g: Guest, tree: tuple[Path, Path]) -> None:
    root, _ = tree
    r, fd = g.path_open("f")
    assert (r, fd) == (0, 4)
    assert g.read(fd, 3) == (0, b"hel")
    assert g.tell(fd) == (0, 3)
    assert g.seek(fd, -1, 1) == (0, 2)
    assert g.read(fd, 100) == (0, b"llo")
    assert g.read(fd, 100) == (0, b"")  # EOF
    assert g.seek(fd, 0, 2) == (0, 5)
    assert g.write(fd, b" world") == (0, 6)
    assert (root / "f").read_bytes() == b"hello world"
    assert g.seek(fd, -100, 1) == (Errno.INVAL, -1)
    assert g.seek(fd, 1000, 0) == (0, 1000)
    assert g.pread(fd, 5, 6) == (0, b"world")
    assert g.pwrite(fd, b"W", 6) == (0, 1)
    assert g.tell(fd) == (0, 1000)  # positional I/O leaves the position alone
    assert (root / "f").read_bytes() == b"hello World"


def test_only_the_first_nonempty_iovec_moves_data(g: Guest) -> None:
    """As wasmtime: one buffer per call, the rest is a short count."""
    _, fd = g.path_open("f")
    assert g.read(fd, 0, 2, 10) == (0, b"he")
    assert g.write(fd, b"", b"XY", b"Z") == (0, 2)
    assert g.write(1, b"", b"", b"out", b"more") == (0, 3)
    assert g.read(fd, 0, 0) == (0, b"")
    assert g.d.call("fd_write", 1, IOVS, 0, OUT) == 0 and g.u32(OUT) == 0


def test_access_modes_come_from_rights(g: Guest) -> None:
    _, ro = g.path_open("f", rights=RIGHTS_RO)
    _, wo = g.path_open("f", rights=1 << 6)
    _, none = g.path_open("f", rights=0)
    assert g.write(ro, b"x")[0] == Errno.BADF
    assert g.read(wo)[0] == Errno.BADF
    assert g.read(none) == (0, b"hello")  # no rights at all still opens for reading
    assert g.fdstat(ro)[1][2] == RIGHTS_ALL & ~(1 << 6)
    assert g.fdstat(wo)[1][2] == RIGHTS_ALL & ~((1 << 1) | (1 << 14))
    assert g.d.call("fd_filestat_set_size", ro, 0) == Errno.INVAL


def test_descriptor_kinds_refuse_what_they_cannot_do(g: Guest) -> None:
    _, d = g.path_open("sub", rights=RIGHTS_DIR)
    assert g.read(d)[0] == Errno.BADF
    assert g.write(d, b"x")[0] == Errno.BADF
    assert g.seek(d, 0, 0)[0] == Errno.BADF
    assert g.seek(1, 0, 0)[0] == Errno.SPIPE
    assert g.tell(0)[0] == Errno.SPIPE
    assert g.pread(0, 1, 0)[0] == Errno.SPIPE
    assert g.pread(1, 1, 0)[0] == Errno.BADF
    assert g.pwrite(1, b"x", 0)[0] == Errno.SPIPE
    assert g.pwrite(0, b"x", 0)[0] == Errno.BADF
    assert g.write(0, b"x")[0] == Errno.BADF
    assert g.read(1)[0] == Errno.BADF
    assert g.readdir(4 + 100)[0] == Errno.BADF
    assert g.d.call("fd_sync", d) == Errno.BADF
    assert g.d.call("fd_allocate", 1, 0, 1) == Errno.BADF


def test_fdstat_per_kind(g: Guest) -> None:
    assert g.fdstat(0) == (0, (Filetype.UNKNOWN, 0, 2, 2))
    assert g.fdstat(1) == (0, (Filetype.UNKNOWN, 0, 64, 64))
    assert g.fdstat(3) == (0, (Filetype.DIRECTORY, 0, 0x7B7FE00, 0xFF7FFFF))
    _, d = g.path_open("sub", rights=RIGHTS_DIR)
    assert g.fdstat(d)[1][:3] == (Filetype.DIRECTORY, 0, 1069023163)
    _, f = g.path_open("f", fdflags=Fdflags.APPEND | Fdflags.NONBLOCK)
    assert g.fdstat(f)[1][:2] == (Filetype.REGULAR_FILE, Fdflags.APPEND | Fdflags.NONBLOCK)


def test_append_mode_and_set_flags(g: Guest, tree: tuple[Path, Path]) -> None:
    root, _ = tree
    _, fd = g.path_open("f", fdflags=Fdflags.APPEND)
    g.seek(fd, 0, 0)
    assert g.write(fd, b"!") == (0, 1)
    assert (root / "f").read_bytes() == b"hello!"
    assert g.d.call("fd_fdstat_set_flags", fd, 0) == 0
    g.seek(fd, 0, 0)
    g.write(fd, b"J")
    assert (root / "f").read_bytes() == b"Jello!"
    assert g.d.call("fd_fdstat_set_flags", fd, Fdflags.SYNC) == Errno.INVAL
    assert g.d.call("fd_fdstat_set_flags", 1, 0) == Errno.BADF
    assert g.d.call("fd_fdstat_set_rights", fd, 0, 0) == Errno.NOTSUP


def test_filestat_and_times(g: Guest, tree: tuple[Path, Path]) -> None:
    root, _ = tree
    _, fd = g.path_open("f")
    r, st = g.fstat(fd)
    assert r == 0
    dev, ino, ftype, nlink, size = st[:5]
    assert (dev, ftype, nlink, size) == (1, Filetype.REGULAR_FILE, 1, 5)
    # ino is stable and shared with the path view and with readdir
    assert g.stat("f")[1][1] == ino
    assert g.stat("link_f")[1][1] == ino
    assert g.stat("link_f", follow=False)[1][1] != ino
    assert g.d.call("fd_filestat_set_times", fd, 111, 222, 1 | 4) == 0
    s = (root / "f").stat()
    assert (s.st_atime_ns, s.st_mtime_ns) == (111, 222)
    assert g.d.call("fd_filestat_set_times", fd, 0, 333, 4) == 0  # atime untouched
    s = (root / "f").stat()
    assert (s.st_atime_ns, s.st_mtime_ns) == (111, 333)
    # *_NOW uses the guest's (fake) wall clock
    assert g.d.call("fd_filestat_set_times", fd, 0, 0, 2) == 0
    assert (root / "f").stat().st_atime_ns == g.d.clock.realtime  # type: ignore[attr-defined]
    assert g.d.call("fd_filestat_set_times", fd, 0, 0, 1 | 2) == Errno.INVAL
    assert g.fstat(1) == (0, (0, 0, 0, 0, 0, 0, 0, 0))
    assert g.d.call("fd_filestat_set_size", fd, 2) == 0
    assert (root / "f").read_bytes() == b"he"


def test_close_and_renumber(g: Guest) -> None:
    _, a = g.path_open("f")
    _, b = g.path_open("sub/g")
    assert g.close(a) == 0
    assert g.close(a) == Errno.BADF
    assert g.path_open("f")[1] == a  # lowest free number is reused
    assert g.d.call("fd_renumber", b, 40) == Errno.BADF  # target must be open
    assert g.d.call("fd_renumber", b, a) == 0
    assert g.read(a) == (0, b"gg")
    assert g.read(b)[0] == Errno.BADF
    assert g.d.call("fd_renumber", a, a) == 0
    assert g.close(3) == 0  # preopens can be closed
    assert g.path_open("f")[0] == Errno.BADF


def test_prestat(g: Guest) -> None:
    assert g.d.call("fd_prestat_get", 3, 0x5000) == 0
    assert g.d.read(0x5000, 8) == b"\0\0\0\0\x01\0\0\0"
    assert g.d.call("fd_prestat_dir_name", 3, 0x5100, 0) == Errno.NAMETOOLONG
    assert g.d.call("fd_prestat_dir_name", 3, 0x5100, 1) == 0 and g.d.read(0x5100, 1) == b"."
    assert g.d.call("fd_prestat_get", 1, 0x5000) == Errno.BADF
    assert g.d.call("fd_prestat_dir_name", 1, 0x5100, 8) == Errno.NOTDIR


def test_readdir_layout_dots_and_types(g: Guest) -> None:
    entries = g.readdir_all(3)
    names = [e[3] for e in entries]
    assert names[:2] == [b".", b".."]
    assert [e[0] for e in entries] == list(
        range(1, len(entries) + 1)
    )  # d_next = cookie of the next
    types = {e[3]: e[2] for e in entries}
    assert types[b"f"] == Filetype.REGULAR_FILE
    assert types[b"sub"] == Filetype.DIRECTORY
    assert types[b"link_sub"] == Filetype.SYMBOLIC_LINK
    assert entries[0][1] == entries[1][1] == g.fstat(3)[1][1]  # "." and ".." share the dir's inode
    assert {e[3]: e[1] for e in entries}[b"f"] == g.stat("f")[1][1]


def test_readdir_small_buffers_and_cookies(g: Guest) -> None:
    full = g.readdir_all(3, 4096)
    # Any buffer at least one entry long gets the same listing via cookies.
    for size in (24 + len("abs_out_dir"), 40, 64, 100, 333):
        assert g.readdir_all(3, size) == full, size
    # A cut-off entry fills the buffer exactly (the libc's signal to retry).
    r, data = g.readdir(3, 30)
    assert r == 0 and len(data) == 30
    assert g.readdir(3, 0) == (0, b"")
    # Starting from any cookie gives the tail.
    for cookie in range(len(full) + 2):
        assert [e[3] for e in g.readdir_all_from(cookie)] == [e[3] for e in full[cookie:]]
    assert g.readdir(3, 4096, 1 << 63) == (0, b"")


def test_readdir_on_an_opened_subdirectory(g: Guest) -> None:
    _, d = g.path_open("sub", rights=RIGHTS_DIR)
    assert sorted(e[3] for e in g.readdir_all(d)) == [b".", b"..", b"g", b"up", b"upup"]


def test_advise_allocate_sync(g: Guest) -> None:
    _, fd = g.path_open("f")
    assert g.d.call("fd_advise", fd, 0, 0, 1) == 0
    assert g.d.call("fd_allocate", fd, 0, 10) == Errno.NOTSUP
    assert g.d.call("fd_sync", fd) == 0
    assert g.d.call("fd_datasync", fd) == 0
