"""Preview1 constants and the byte layouts of the structs guests exchange.

Everything is little-endian with the alignment rules of the witx ABI; each
`struct.Struct` below spells the padding out explicitly so its size matches
the ABI size (checked by the tests).

Invalid enum values or unknown flag bits are a *trap* under wasmtime (its
wiggle bindings reject them before the call runs), so `check_enum` and
`check_flags` raise `GuestTrap` rather than returning an errno.
"""

from __future__ import annotations

import enum
import struct

from ..runtime.hostapi import GuestTrap

__all__ = [
    "DIRENT",
    "EVENT",
    "FDSTAT",
    "FILESTAT",
    "IOVEC",
    "PRESTAT",
    "SUBSCRIPTION_CLOCK",
    "SUBSCRIPTION_FD",
    "SUBSCRIPTION_HEAD",
    "SUBSCRIPTION_SIZE",
    "Advice",
    "Clockid",
    "Eventtype",
    "Fdflags",
    "Filetype",
    "Fstflags",
    "Lookupflags",
    "Oflags",
    "Riflags",
    "Rights",
    "Sdflags",
    "Subclockflags",
    "Whence",
    "check_enum",
    "check_flags",
    "to_signed64",
]


class Filetype(enum.IntEnum):
    UNKNOWN = 0
    BLOCK_DEVICE = 1
    CHARACTER_DEVICE = 2
    DIRECTORY = 3
    REGULAR_FILE = 4
    SOCKET_DGRAM = 5
    SOCKET_STREAM = 6
    SYMBOLIC_LINK = 7


class Rights(enum.IntFlag):
    FD_DATASYNC = 1 << 0
    FD_READ = 1 << 1
    FD_SEEK = 1 << 2
    FD_FDSTAT_SET_FLAGS = 1 << 3
    FD_SYNC = 1 << 4
    FD_TELL = 1 << 5
    FD_WRITE = 1 << 6
    FD_ADVISE = 1 << 7
    FD_ALLOCATE = 1 << 8
    PATH_CREATE_DIRECTORY = 1 << 9
    PATH_CREATE_FILE = 1 << 10
    PATH_LINK_SOURCE = 1 << 11
    PATH_LINK_TARGET = 1 << 12
    PATH_OPEN = 1 << 13
    FD_READDIR = 1 << 14
    PATH_READLINK = 1 << 15
    PATH_RENAME_SOURCE = 1 << 16
    PATH_RENAME_TARGET = 1 << 17
    PATH_FILESTAT_GET = 1 << 18
    PATH_FILESTAT_SET_SIZE = 1 << 19
    PATH_FILESTAT_SET_TIMES = 1 << 20
    FD_FILESTAT_GET = 1 << 21
    FD_FILESTAT_SET_SIZE = 1 << 22
    FD_FILESTAT_SET_TIMES = 1 << 23
    PATH_SYMLINK = 1 << 24
    PATH_REMOVE_DIRECTORY = 1 << 25
    PATH_UNLINK_FILE = 1 << 26
    POLL_FD_READWRITE = 1 << 27
    SOCK_SHUTDOWN = 1 << 28
    SOCK_ACCEPT = 1 << 29


RIGHTS_ALL = (1 << 30) - 1

# What wasmtime reports for a preopened directory: a fixed set that userlands
# (wasi-libc) expect, not derived from the host directory.
PREOPEN_RIGHTS_BASE = 0x7B7FE00
PREOPEN_RIGHTS_INHERITING = 0xFF7FFFF

# What wasmtime reports for a directory opened with path_open: everything but
# seeking, resizing and writing.
DIR_RIGHTS = RIGHTS_ALL & ~int(
    Rights.FD_SEEK | Rights.FD_FILESTAT_SET_SIZE | Rights.PATH_FILESTAT_SET_SIZE | Rights.FD_WRITE
)


class Oflags(enum.IntFlag):
    CREAT = 1 << 0
    DIRECTORY = 1 << 1
    EXCL = 1 << 2
    TRUNC = 1 << 3


class Fdflags(enum.IntFlag):
    APPEND = 1 << 0
    DSYNC = 1 << 1
    NONBLOCK = 1 << 2
    RSYNC = 1 << 3
    SYNC = 1 << 4


class Lookupflags(enum.IntFlag):
    SYMLINK_FOLLOW = 1 << 0


class Fstflags(enum.IntFlag):
    ATIM = 1 << 0
    ATIM_NOW = 1 << 1
    MTIM = 1 << 2
    MTIM_NOW = 1 << 3


class Whence(enum.IntEnum):
    SET = 0
    CUR = 1
    END = 2


class Clockid(enum.IntEnum):
    REALTIME = 0
    MONOTONIC = 1
    PROCESS_CPUTIME_ID = 2
    THREAD_CPUTIME_ID = 3


class Advice(enum.IntEnum):
    NORMAL = 0
    SEQUENTIAL = 1
    RANDOM = 2
    WILLNEED = 3
    DONTNEED = 4
    NOREUSE = 5


class Eventtype(enum.IntEnum):
    CLOCK = 0
    FD_READ = 1
    FD_WRITE = 2


class Subclockflags(enum.IntFlag):
    SUBSCRIPTION_CLOCK_ABSTIME = 1 << 0


class Riflags(enum.IntFlag):
    RECV_PEEK = 1 << 0
    RECV_WAITALL = 1 << 1


class Sdflags(enum.IntFlag):
    RD = 1 << 0
    WR = 1 << 1


# Highest valid signal number (`$signal` enum: none .. sys).
SIGNAL_MAX = 30

# iovec / ciovec: buf (pointer), buf_len (size). Size 8, align 4.
IOVEC = struct.Struct("<II")
# fdstat: fs_filetype u8, fs_flags u16, fs_rights_base u64, fs_rights_inheriting u64.
FDSTAT = struct.Struct("<BxH4xQQ")  # 24 bytes, align 8
# filestat: dev, ino, filetype (u8 + 7 pad), nlink, size, atim, mtim, ctim.
FILESTAT = struct.Struct("<QQB7xQQQQQ")  # 64 bytes
# prestat: tag u8 (0 = dir), then u32 pr_name_len.
PRESTAT = struct.Struct("<B3xI")  # 8 bytes
# dirent header: d_next, d_ino, d_namlen u32, d_type u8; the name follows.
DIRENT = struct.Struct("<QQIB3x")  # 24 bytes
# subscription: userdata u64, tag u8, union at offset 8+8 (align 8). 48 bytes.
SUBSCRIPTION_SIZE = 48
SUBSCRIPTION_HEAD = struct.Struct("<QB")
SUBSCRIPTION_CLOCK = struct.Struct("<IxxxxQQH")  # at offset 16: id, timeout, precision, flags
SUBSCRIPTION_FD = struct.Struct("<I")  # at offset 16: file_descriptor
# event: userdata u64, error u16, type u8, then fd_readwrite (nbytes u64, flags u16).
EVENT = struct.Struct("<QHB5xQH6x")  # 32 bytes


def check_enum(kind: type[enum.IntEnum], value: int) -> int:
    """Validate an enum argument the way wasmtime does (invalid -> trap)."""
    try:
        kind(value)
    except ValueError:
        raise GuestTrap(f"invalid enum value {kind.__name__} {value}") from None
    return value


def check_flags(kind: type[enum.IntFlag], value: int) -> int:
    """Validate a flags argument the way wasmtime does (unknown bits -> trap)."""
    known = 0
    for member in kind:
        known |= int(member)
    if value & ~known:
        raise GuestTrap(f"invalid flag value {kind.__name__} {value:#x}")
    return value


def to_signed64(value: int) -> int:
    """An i64 argument arrives unsigned; filedelta and friends are signed."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value
