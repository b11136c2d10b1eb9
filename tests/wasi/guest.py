"""A guest's-eye API over either driver (our host, or wasmtime's native WASI).

Scenarios written against `Guest` run unchanged on both, which is how the
comparison tests check that our errno choices match wasmtime's.
"""

from __future__ import annotations

import struct
from typing import Any, Protocol

from pytest_wasmconc.wasi.layout import DIRENT, EVENT, FDSTAT, FILESTAT, RIGHTS_ALL

PATH1 = 0x1000
PATH2 = 0x2000
IOVS = 0x3000
OUT = 0x4000  # result slots, 8-byte aligned
OUT2 = 0x4010
STRUCT = 0x5000  # fdstat / filestat / prestat
SUBS = 0x6000
EVENTS = 0x7000
DATA = 0x8000  # up to 64 KiB of data
DATA_MAX = 0x10000

RIGHTS_RO = (
    (1 << 1) | (1 << 2) | (1 << 5) | (1 << 14) | (1 << 21)
)  # read, seek, tell, readdir, filestat
RIGHTS_DIR = RIGHTS_ALL & ~((1 << 6) | (1 << 8) | (1 << 22) | (1 << 19) | (1 << 0))


class Driver(Protocol):
    def call(self, name: str, *args: int) -> Any: ...
    def write(self, ptr: int, data: bytes) -> None: ...
    def read(self, ptr: int, length: int) -> bytes: ...


class Guest:
    def __init__(self, driver: Driver) -> None:
        self.d = driver

    # memory helpers
    def u32(self, ptr: int) -> int:
        return int(struct.unpack("<I", self.d.read(ptr, 4))[0])

    def u64(self, ptr: int) -> int:
        return int(struct.unpack("<Q", self.d.read(ptr, 8))[0])

    def _path(self, ptr: int, path: str | bytes) -> int:
        raw = path.encode() if isinstance(path, str) else path
        self.d.write(ptr, raw)
        return len(raw)

    def _iovs(self, lengths: list[int]) -> list[int]:
        """Lay out iovecs over DATA; returns their buffer pointers."""
        ptrs = []
        pos = DATA
        raw = b""
        for length in lengths:
            raw += struct.pack("<II", pos, length)
            ptrs.append(pos)
            pos += length
        self.d.write(IOVS, raw)
        return ptrs

    # paths
    def path_open(
        self,
        path: str | bytes,
        oflags: int = 0,
        rights: int = RIGHTS_ALL,
        fdflags: int = 0,
        follow: bool = True,
        fd: int = 3,
        inheriting: int | None = None,
    ) -> tuple[int, int]:
        n = self._path(PATH1, path)
        self.d.write(OUT, b"\xff" * 4)
        r = self.d.call(
            "path_open",
            fd,
            1 if follow else 0,
            PATH1,
            n,
            oflags,
            rights,
            rights if inheriting is None else inheriting,
            fdflags,
            OUT,
        )
        return r, (self.u32(OUT) if r == 0 else -1)

    def path1(self, name: str, path: str | bytes, fd: int = 3) -> int:
        n = self._path(PATH1, path)
        return int(self.d.call(name, fd, PATH1, n))

    def mkdir(self, path: str | bytes, fd: int = 3) -> int:
        return self.path1("path_create_directory", path, fd)

    def rmdir(self, path: str | bytes, fd: int = 3) -> int:
        return self.path1("path_remove_directory", path, fd)

    def unlink(self, path: str | bytes, fd: int = 3) -> int:
        return self.path1("path_unlink_file", path, fd)

    def rename(self, old: str, new: str, fd: int = 3, new_fd: int = 3) -> int:
        a = self._path(PATH1, old)
        b = self._path(PATH2, new)
        return int(self.d.call("path_rename", fd, PATH1, a, new_fd, PATH2, b))

    def link(self, old: str, new: str, follow: bool = False, fd: int = 3, new_fd: int = 3) -> int:
        a = self._path(PATH1, old)
        b = self._path(PATH2, new)
        return int(self.d.call("path_link", fd, 1 if follow else 0, PATH1, a, new_fd, PATH2, b))

    def symlink(self, target: str, path: str, fd: int = 3) -> int:
        a = self._path(PATH1, target)
        b = self._path(PATH2, path)
        return int(self.d.call("path_symlink", PATH1, a, fd, PATH2, b))

    def readlink(self, path: str, buf_len: int = 256, fd: int = 3) -> tuple[int, bytes]:
        n = self._path(PATH1, path)
        r = self.d.call("path_readlink", fd, PATH1, n, DATA, buf_len, OUT)
        return r, (self.d.read(DATA, self.u32(OUT)) if r == 0 else b"")

    def stat(self, path: str, follow: bool = True, fd: int = 3) -> tuple[int, tuple[int, ...]]:
        n = self._path(PATH1, path)
        r = self.d.call("path_filestat_get", fd, 1 if follow else 0, PATH1, n, STRUCT)
        return r, (FILESTAT.unpack(self.d.read(STRUCT, 64)) if r == 0 else ())

    def set_times(
        self, path: str, atim: int, mtim: int, flags: int, follow: bool = True, fd: int = 3
    ) -> int:
        n = self._path(PATH1, path)
        return int(
            self.d.call(
                "path_filestat_set_times", fd, 1 if follow else 0, PATH1, n, atim, mtim, flags
            )
        )

    # fds
    def write(self, fd: int, *chunks: bytes) -> tuple[int, int]:
        ptrs = self._iovs([len(c) for c in chunks])
        for p, c in zip(ptrs, chunks):
            self.d.write(p, c)
        r = self.d.call("fd_write", fd, IOVS, len(chunks), OUT)
        return r, (self.u32(OUT) if r == 0 else -1)

    def pwrite(self, fd: int, data: bytes, offset: int) -> tuple[int, int]:
        (p,) = self._iovs([len(data)])
        self.d.write(p, data)
        r = self.d.call("fd_pwrite", fd, IOVS, 1, offset, OUT)
        return r, (self.u32(OUT) if r == 0 else -1)

    def read(self, fd: int, *lengths: int) -> tuple[int, bytes]:
        lengths = lengths or (64,)
        self._iovs(list(lengths))
        self.d.write(DATA, b"\0" * sum(lengths))
        r = self.d.call("fd_read", fd, IOVS, len(lengths), OUT)
        return r, (self.d.read(DATA, self.u32(OUT)) if r == 0 else b"")

    def pread(self, fd: int, length: int, offset: int) -> tuple[int, bytes]:
        self._iovs([length])
        r = self.d.call("fd_pread", fd, IOVS, 1, offset, OUT)
        return r, (self.d.read(DATA, self.u32(OUT)) if r == 0 else b"")

    def seek(self, fd: int, offset: int, whence: int) -> tuple[int, int]:
        r = self.d.call("fd_seek", fd, offset, whence, OUT)
        return r, (self.u64(OUT) if r == 0 else -1)

    def tell(self, fd: int) -> tuple[int, int]:
        r = self.d.call("fd_tell", fd, OUT)
        return r, (self.u64(OUT) if r == 0 else -1)

    def close(self, fd: int) -> int:
        return int(self.d.call("fd_close", fd))

    def fdstat(self, fd: int) -> tuple[int, tuple[int, ...]]:
        r = self.d.call("fd_fdstat_get", fd, STRUCT)
        return r, (FDSTAT.unpack(self.d.read(STRUCT, 24)) if r == 0 else ())

    def fstat(self, fd: int) -> tuple[int, tuple[int, ...]]:
        r = self.d.call("fd_filestat_get", fd, STRUCT)
        return r, (FILESTAT.unpack(self.d.read(STRUCT, 64)) if r == 0 else ())

    def readdir(self, fd: int, buf_len: int = 4096, cookie: int = 0) -> tuple[int, bytes]:
        r = self.d.call("fd_readdir", fd, DATA, buf_len, cookie, OUT)
        return r, (self.d.read(DATA, self.u32(OUT)) if r == 0 else b"")

    def readdir_all(self, fd: int, buf_len: int = 4096) -> list[tuple[int, int, int, bytes]]:
        """Every entry, following cookies with a buffer of `buf_len` like wasi-libc does."""
        entries: list[tuple[int, int, int, bytes]] = []
        cookie = 0
        while True:
            r, data = self.readdir(fd, buf_len, cookie)
            assert r == 0
            got = parse_dirents(data)
            if not got:
                assert len(data) < buf_len, "buffer too small for one entry"
                return entries
            entries += got
            cookie = got[-1][0]
            if len(data) < buf_len:
                return entries

    def readdir_all_from(self, cookie: int) -> list[tuple[int, int, int, bytes]]:
        r, data = self.readdir(3, 4096, cookie)
        assert r == 0
        return parse_dirents(data)

    def poll(self, subs: list[bytes]) -> tuple[int, list[tuple[int, ...]]]:
        self.d.write(SUBS, b"".join(subs))
        r = self.d.call("poll_oneoff", SUBS, EVENTS, len(subs), OUT)
        if r != 0:
            return r, []
        n = self.u32(OUT)
        return r, [EVENT.unpack(self.d.read(EVENTS + 32 * i, 32)) for i in range(n)]


def parse_dirents(data: bytes) -> list[tuple[int, int, int, bytes]]:
    """(d_next, d_ino, d_type, name) for each *whole* entry in a readdir buffer."""
    out = []
    pos = 0
    while pos + DIRENT.size <= len(data):
        d_next, d_ino, namlen, d_type = DIRENT.unpack_from(data, pos)
        if pos + DIRENT.size + namlen > len(data):
            break
        out.append((d_next, d_ino, d_type, data[pos + DIRENT.size : pos + DIRENT.size + namlen]))
        pos += DIRENT.size + namlen
    return out


def sub_clock(userdata: int, clock_id: int, timeout: int, absolute: bool = False) -> bytes:
    return struct.pack("<QB7xIxxxxQQH6x", userdata, 0, clock_id, timeout, 0, 1 if absolute else 0)


def sub_fd(userdata: int, kind: int, fd: int) -> bytes:
    return struct.pack("<QB7xI28x", userdata, kind, fd)
