"""Host `os.stat_result` -> preview1 filestat / filetype / inode numbers.

Like wasmtime, `dev` is always 1 and `ino` is a stable 64-bit hash of the
host (device, inode) pair: host inode numbers of different devices could
collide, and the guest has no business seeing host device numbers.
"""

from __future__ import annotations

import hashlib
import os
import stat as host_stat

from .layout import FILESTAT, Filetype

__all__ = ["EMPTY_FILESTAT", "filetype_of_mode", "inode_hash", "pack_filestat"]


def filetype_of_mode(mode: int) -> Filetype:
    if host_stat.S_ISREG(mode):
        return Filetype.REGULAR_FILE
    if host_stat.S_ISDIR(mode):
        return Filetype.DIRECTORY
    if host_stat.S_ISLNK(mode):
        return Filetype.SYMBOLIC_LINK
    if host_stat.S_ISCHR(mode):
        return Filetype.CHARACTER_DEVICE
    if host_stat.S_ISBLK(mode):
        return Filetype.BLOCK_DEVICE
    if host_stat.S_ISSOCK(mode):
        return Filetype.SOCKET_STREAM
    return Filetype.UNKNOWN  # FIFOs have no preview1 filetype


def inode_hash(dev: int, ino: int) -> int:
    digest = hashlib.blake2b(f"{dev}:{ino}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def pack_filestat(st: os.stat_result) -> bytes:
    return FILESTAT.pack(
        1,
        inode_hash(st.st_dev, st.st_ino),
        filetype_of_mode(st.st_mode),
        st.st_nlink,
        st.st_size,
        st.st_atime_ns,
        st.st_mtime_ns,
        st.st_ctime_ns,
    )


def empty_filestat(filetype: Filetype) -> bytes:
    """What wasmtime reports for stdio: everything zero."""
    return FILESTAT.pack(0, 0, filetype, 0, 0, 0, 0, 0)


EMPTY_FILESTAT = empty_filestat(Filetype.UNKNOWN)
