"""Handles for host files and directories opened inside a preopen.

Reads, writes and seeks use the host descriptor's own file position, so
concurrent calls from several guest threads on one fd are serialized by
the host kernel exactly as they would be for a native process.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass

from .fdtable import Handle
from .filestat import filetype_of_mode, inode_hash
from .layout import (
    DIR_RIGHTS,
    PREOPEN_RIGHTS_BASE,
    PREOPEN_RIGHTS_INHERITING,
    RIGHTS_ALL,
    Fdflags,
    Filetype,
    Rights,
)

__all__ = ["DirEntry", "DirHandle", "FileHandle", "list_directory"]


class FileHandle(Handle):
    """A non-directory opened with path_open."""

    kind = "file"

    def __init__(
        self,
        os_fd: int,
        *,
        readable: bool,
        writable: bool,
        fdflags: int,
    ) -> None:
        super().__init__()
        self.os_fd = os_fd
        self.readable = readable
        self.writable = writable
        # APPEND lives on the host fd (O_APPEND); the others are recorded.
        self.fdflags = fdflags
        self.filetype = filetype_of_mode(os.fstat(os_fd).st_mode)

    def _release(self) -> None:
        os.close(self.os_fd)

    def rights(self) -> int:
        # wasmtime: everything, less what the open mode does not allow.
        rights = RIGHTS_ALL
        if not self.writable:
            rights &= ~int(Rights.FD_WRITE)
        if not self.readable:
            rights &= ~int(Rights.FD_READ | Rights.FD_READDIR)
        return rights

    def set_append(self, append: bool) -> None:
        flags = fcntl.fcntl(self.os_fd, fcntl.F_GETFL)
        flags = flags | os.O_APPEND if append else flags & ~os.O_APPEND
        fcntl.fcntl(self.os_fd, fcntl.F_SETFL, flags)
        if append:
            self.fdflags |= Fdflags.APPEND
        else:
            self.fdflags &= ~int(Fdflags.APPEND)


class DirHandle(Handle):
    """A directory: a preopen (with its guest name) or one opened with path_open."""

    kind = "dir"

    def __init__(self, os_fd: int, preopen_name: str | None = None) -> None:
        super().__init__()
        self.os_fd = os_fd
        self.preopen_name = preopen_name

    def _release(self) -> None:
        os.close(self.os_fd)

    def rights(self) -> tuple[int, int]:
        if self.preopen_name is not None:
            return PREOPEN_RIGHTS_BASE, PREOPEN_RIGHTS_INHERITING
        return DIR_RIGHTS, DIR_RIGHTS


@dataclass(frozen=True)
class DirEntry:
    name: bytes
    ino: int
    filetype: Filetype


def _entry_type(entry: os.DirEntry[str]) -> Filetype:
    try:
        if entry.is_symlink():
            return Filetype.SYMBOLIC_LINK
        if entry.is_dir(follow_symlinks=False):
            return Filetype.DIRECTORY
        if entry.is_file(follow_symlinks=False):
            return Filetype.REGULAR_FILE
        return filetype_of_mode(entry.stat(follow_symlinks=False).st_mode)
    except OSError:
        return Filetype.UNKNOWN  # raced with a removal; still listed


def list_directory(dir_fd: int) -> list[DirEntry]:
    """ ".", ".." and the entries, in host order, as fd_readdir numbers them.

    Reads through a fresh open file description of the directory so that
    concurrent readdirs on one fd do not share (and disturb) a position.
    `..` reports the directory's own inode, as wasmtime does: looking at the
    real parent could reveal something outside the capability.
    """
    own = os.fstat(dir_fd)
    own_ino = inode_hash(own.st_dev, own.st_ino)
    entries = [
        DirEntry(b".", own_ino, Filetype.DIRECTORY),
        DirEntry(b"..", own_ino, Filetype.DIRECTORY),
    ]
    private = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        with os.scandir(private) as it:
            for entry in it:
                entries.append(
                    DirEntry(
                        os.fsencode(entry.name),
                        inode_hash(own.st_dev, entry.inode()),
                        _entry_type(entry),
                    )
                )
    finally:
        os.close(private)
    return entries
