"""The path_* calls, all resolved through `sandbox.Lookup`.

Each call walks to the directory that holds the final component (holding
an fd for every directory on the way) and then does one `*at` operation
on a single component that never follows a symlink. Where a call follows
a final symlink (path_open / path_filestat_* with SYMLINK_FOLLOW) the
link is read and resolved by `Lookup.follow`, inside the sandbox.

Trailing slashes follow cap-std (and so wasmtime): for most calls
"name/" means "name/." (the directory itself); mkdir and rename treat it
as "name, which must be a directory"; path_open as "name, followed, which
must be a directory". rmdir of "name/" follows Linux and wasmtime 51:
a directory is removed, a symlink is ENOTDIR (wasmtime 50 read it as
"name/." too: EINVAL for a directory).
"""

from __future__ import annotations

import errno as host_errno
import os
import stat as host_stat
from collections.abc import Iterator
from contextlib import contextmanager

from ..runtime.hostapi import HostCall
from .errno import Errno, WasiError
from .fdcalls import check_fst_flags, check_rights, resolve_times
from .fdtable import Handle
from .files import DirHandle, FileHandle
from .filestat import pack_filestat
from .guestmem import read_path
from .layout import Fdflags, Lookupflags, Oflags, Rights, check_flags
from .sandbox import Lookup
from .state import WasiState

__all__ = [
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_link",
    "path_open",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
]


@contextmanager
def _lookup(st: WasiState, fd: int) -> Iterator[Lookup]:
    """A lookup rooted at directory `fd` (ENOTDIR for a file, EBADF for stdio)."""
    with st.table.lease(fd) as handle:
        if isinstance(handle, FileHandle):
            raise WasiError(Errno.NOTDIR, f"fd {fd} is not a directory")
        if not isinstance(handle, DirHandle):
            raise WasiError(Errno.BADF, f"fd {fd} is not a directory")
        with Lookup(handle.os_fd) as lookup:
            yield lookup


def _stat_final(lookup: Lookup, name: str, follow: bool) -> os.stat_result:
    while True:
        if follow:
            name = lookup.follow(name)
        st = os.stat(name, dir_fd=lookup.dir_fd, follow_symlinks=False)
        if follow and host_stat.S_ISLNK(st.st_mode):
            continue  # swapped in since follow() looked: resolve it too
        return st


def path_open(
    st: WasiState,
    call: HostCall,
    fd: int,
    dirflags: int,
    path_ptr: int,
    path_len: int,
    oflags: int,
    rights_base: int,
    rights_inheriting: int,
    fdflags: int,
    fd_ptr: int,
) -> int:
    check_flags(Lookupflags, dirflags)
    check_flags(Oflags, oflags)
    check_rights(rights_base)
    check_rights(rights_inheriting)
    check_flags(Fdflags, fdflags)
    # wasmtime derives the open mode from the rights; with neither, read.
    write = bool(
        rights_base
        & (Rights.FD_DATASYNC | Rights.FD_WRITE | Rights.FD_ALLOCATE | Rights.FD_FILESTAT_SET_SIZE)
    )
    read = bool(rights_base & (Rights.FD_READ | Rights.FD_READDIR)) or not write
    if oflags & Oflags.DIRECTORY and oflags & (Oflags.CREAT | Oflags.EXCL | Oflags.TRUNC):
        raise WasiError(Errno.INVAL, "O_DIRECTORY with O_CREAT/O_EXCL/O_TRUNC")
    # (O_DIRECTORY with write access: the host says ENOTDIR for a file and
    # EISDIR for a directory, as wasmtime does.)
    flags = os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
    flags |= os.O_RDWR if read and write else os.O_WRONLY if write else os.O_RDONLY
    if oflags & Oflags.CREAT:
        flags |= os.O_CREAT
        if oflags & Oflags.EXCL:
            flags |= os.O_EXCL
    if oflags & Oflags.TRUNC:
        flags |= os.O_TRUNC
    if oflags & Oflags.DIRECTORY:
        flags |= os.O_DIRECTORY
    if fdflags & Fdflags.APPEND:
        flags |= os.O_APPEND
    if fdflags & Fdflags.DSYNC:
        flags |= getattr(os, "O_DSYNC", 0)
    if fdflags & Fdflags.SYNC:
        flags |= getattr(os, "O_SYNC", 0)
    if fdflags & Fdflags.RSYNC:
        flags |= getattr(os, "O_RSYNC", 0)
    path = read_path(call.memory, path_ptr, path_len)

    with _lookup(st, fd) as lookup:
        name, trailing = lookup.parent_keep_slash(path)
        if name == ".":
            trailing = False  # "./" is just "."
        if trailing:
            if oflags & Oflags.CREAT:
                raise WasiError(Errno.ISDIR, "cannot create a file named with a trailing slash")
            flags |= os.O_DIRECTORY
        # O_CREAT|O_EXCL never follows (POSIX: an existing symlink is EEXIST).
        excl = oflags & Oflags.CREAT and oflags & Oflags.EXCL
        follow = (bool(dirflags & Lookupflags.SYMLINK_FOLLOW) or trailing) and not excl
        while True:
            if follow:
                name = lookup.follow(name)
            try:
                host_fd = os.open(name, flags, 0o666, dir_fd=lookup.dir_fd)
            except OSError as exc:
                # A symlink under O_NOFOLLOW: swapped in after follow() looked.
                swapped = follow and exc.errno in (host_errno.ELOOP, host_errno.ENOTDIR)
                if swapped and lookup.readlink(name) is not None:
                    continue
                raise
            break
    try:
        host_stat_result = os.fstat(host_fd)
        if not fdflags & Fdflags.NONBLOCK:
            os.set_blocking(host_fd, True)
        handle: Handle
        if host_stat.S_ISDIR(host_stat_result.st_mode):
            handle = DirHandle(host_fd)
        else:
            handle = FileHandle(host_fd, readable=read, writable=write, fdflags=fdflags)
    except BaseException:
        os.close(host_fd)
        raise
    new_fd = st.table.insert(handle)
    try:
        call.memory.store_u32(fd_ptr, new_fd)
    except BaseException:
        st.table.close(new_fd)
        raise
    return 0


def path_create_directory(
    st: WasiState, call: HostCall, fd: int, path_ptr: int, path_len: int
) -> int:
    path = read_path(call.memory, path_ptr, path_len)
    with _lookup(st, fd) as lookup:
        name, _ = lookup.parent_keep_slash(path)  # "dir/" creates "dir"
        os.mkdir(name, 0o777, dir_fd=lookup.dir_fd)
    return 0


def path_remove_directory(
    st: WasiState, call: HostCall, fd: int, path_ptr: int, path_len: int
) -> int:
    path = read_path(call.memory, path_ptr, path_len)
    with _lookup(st, fd) as lookup:
        # "name/" is read as Linux rmdir(2) and wasmtime 51 read it: a real
        # directory is removed (wasi-testsuite's remove_directory_trailing_slashes
        # requires it), a symlink is ENOTDIR without being followed (whatever it
        # points at). Every other path keeps cap-std's reading ("name/" =
        # "name/.", so "dir/." is EINVAL and "file/" ENOTDIR). wasmtime 50 read
        # every "name/" as "name/." (EINVAL for a directory).
        name, trailing = lookup.parent_keep_slash(path)
        if trailing and name not in (".", ".."):
            mode = _lstat_mode(lookup, name)
            if mode is not None and host_stat.S_ISLNK(mode):
                raise WasiError(Errno.NOTDIR, f"{path!r} names a symlink")
            if mode is not None and host_stat.S_ISDIR(mode):
                os.rmdir(name, dir_fd=lookup.dir_fd)
                return 0
        if trailing:
            lookup.walk([name])
            name = "."
        os.rmdir(name, dir_fd=lookup.dir_fd)
    return 0


def _lstat_mode(lookup: Lookup, name: str) -> int | None:
    try:
        return os.stat(name, dir_fd=lookup.dir_fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return None


def path_unlink_file(st: WasiState, call: HostCall, fd: int, path_ptr: int, path_len: int) -> int:
    path = read_path(call.memory, path_ptr, path_len)
    with _lookup(st, fd) as lookup:
        os.unlink(lookup.parent(path), dir_fd=lookup.dir_fd)
    return 0


def path_readlink(
    st: WasiState,
    call: HostCall,
    fd: int,
    path_ptr: int,
    path_len: int,
    buf_ptr: int,
    buf_len: int,
    bufused_ptr: int,
) -> int:
    path = read_path(call.memory, path_ptr, path_len)
    with _lookup(st, fd) as lookup:
        # Reading a link that points outside is fine: only following it is
        # not. Except that cap-std (so wasmtime) refuses to reveal an
        # absolute target: EPERM, like following it would be.
        text = os.readlink(lookup.parent(path), dir_fd=lookup.dir_fd)
        if text.startswith("/"):
            raise WasiError(Errno.PERM, "absolute symlink target")
        target = os.fsencode(text)
    # Truncated to the buffer, as wasmtime does (no ERANGE).
    data = target[:buf_len]
    call.memory.write(buf_ptr, data)
    call.memory.store_u32(bufused_ptr, len(data))
    return 0


def path_filestat_get(
    st: WasiState, call: HostCall, fd: int, flags: int, path_ptr: int, path_len: int, buf_ptr: int
) -> int:
    check_flags(Lookupflags, flags)
    path = read_path(call.memory, path_ptr, path_len)
    with _lookup(st, fd) as lookup:
        name = lookup.parent(path)
        result = _stat_final(lookup, name, bool(flags & Lookupflags.SYMLINK_FOLLOW))
    call.memory.write(buf_ptr, pack_filestat(result))
    return 0


def path_filestat_set_times(
    st: WasiState,
    call: HostCall,
    fd: int,
    flags: int,
    path_ptr: int,
    path_len: int,
    atim: int,
    mtim: int,
    fst_flags: int,
) -> int:
    check_flags(Lookupflags, flags)
    check_fst_flags(fst_flags)
    path = read_path(call.memory, path_ptr, path_len)
    follow = bool(flags & Lookupflags.SYMLINK_FOLLOW)
    with _lookup(st, fd) as lookup:
        name = lookup.parent(path)
        if follow:
            name = lookup.follow(name)
        current = os.stat(name, dir_fd=lookup.dir_fd, follow_symlinks=False)
        times = resolve_times(call, current, atim, mtim, fst_flags)
        if times is not None:
            os.utime(name, ns=times, dir_fd=lookup.dir_fd, follow_symlinks=False)
    return 0


def path_link(
    st: WasiState,
    call: HostCall,
    old_fd: int,
    old_flags: int,
    old_path_ptr: int,
    old_path_len: int,
    new_fd: int,
    new_path_ptr: int,
    new_path_len: int,
) -> int:
    check_flags(Lookupflags, old_flags)
    if old_flags & Lookupflags.SYMLINK_FOLLOW:
        # wasmtime refuses to hard-link the target of a symlink.
        raise WasiError(Errno.INVAL, "path_link with SYMLINK_FOLLOW")
    old_path = read_path(call.memory, old_path_ptr, old_path_len)
    new_path = read_path(call.memory, new_path_ptr, new_path_len)
    with _lookup(st, old_fd) as old, _lookup(st, new_fd) as new:
        old_name = old.parent(old_path)
        new_name = new.parent(new_path)
        # follow_symlinks=False: a symlink is linked as itself, so a link
        # pointing outside stays a link (which the sandbox never follows out).
        os.link(
            old_name,
            new_name,
            src_dir_fd=old.dir_fd,
            dst_dir_fd=new.dir_fd,
            follow_symlinks=False,
        )
    return 0


def path_rename(
    st: WasiState,
    call: HostCall,
    fd: int,
    old_path_ptr: int,
    old_path_len: int,
    new_fd: int,
    new_path_ptr: int,
    new_path_len: int,
) -> int:
    old_path = read_path(call.memory, old_path_ptr, old_path_len)
    new_path = read_path(call.memory, new_path_ptr, new_path_len)
    with _lookup(st, fd) as old, _lookup(st, new_fd) as new:
        old_name, old_slash = old.parent_keep_slash(old_path)
        new_name, new_slash = new.parent_keep_slash(new_path)
        # A kept trailing slash makes the host insist on directories; renameat
        # never follows a final symlink, slash or not.
        os.rename(
            old_name + ("/" if old_slash else ""),
            new_name + ("/" if new_slash else ""),
            src_dir_fd=old.dir_fd,
            dst_dir_fd=new.dir_fd,
        )
    return 0


def path_symlink(
    st: WasiState,
    call: HostCall,
    old_path_ptr: int,
    old_path_len: int,
    fd: int,
    new_path_ptr: int,
    new_path_len: int,
) -> int:
    target = read_path(call.memory, old_path_ptr, old_path_len)
    new_path = read_path(call.memory, new_path_ptr, new_path_len)
    with _lookup(st, fd) as lookup:
        if target.startswith("/"):
            # cap-std will not create a link that could only ever point outside.
            raise WasiError(Errno.PERM, "absolute symlink target")
        if target == "":
            raise WasiError(Errno.NOENT, "empty symlink target")
        os.symlink(target, lookup.parent(new_path), dir_fd=lookup.dir_fd)
    return 0
