"""The fd_* calls: reading, writing and inspecting open descriptors.

Each function is `impl(state, call, *wasm_args)`; it returns 0 (or None)
on success and raises `WasiError` for an errno. Argument checks that trap
under wasmtime (invalid enum values, unknown flag bits) run first, as
wasmtime's bindings decode arguments before the call body runs. Errno
choices per descriptor kind follow wasmtime's preview1 (probed; see
tests/wasi/test_native_compare.py).
"""

from __future__ import annotations

import os
from collections.abc import Generator

from ..runtime.hostapi import GuestMemory, GuestTrap, HostCall, Until, Wait, WaitResult
from .errno import Errno, WasiError
from .fdtable import Handle
from .files import DirHandle, FileHandle, list_directory
from .filestat import empty_filestat, pack_filestat
from .guestmem import Iovec, first_nonempty, gather, read_iovecs, scatter, total_len
from .layout import (
    DIRENT,
    FDSTAT,
    PRESTAT,
    RIGHTS_ALL,
    Advice,
    Fdflags,
    Fstflags,
    Whence,
    check_enum,
    check_flags,
    to_signed64,
)
from .state import WasiState
from .stdio import OutputHandle, StdinHandle

__all__ = [
    "check_fst_flags",
    "check_rights",
    "fd_advise",
    "fd_allocate",
    "fd_close",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_dir_name",
    "fd_prestat_get",
    "fd_pwrite",
    "fd_read",
    "fd_readdir",
    "fd_renumber",
    "fd_seek",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "resolve_times",
]

_SYNC_FLAGS = Fdflags.DSYNC | Fdflags.RSYNC | Fdflags.SYNC
_MAX_OFFSET = (1 << 63) - 1  # host offsets are signed


def check_rights(value: int) -> int:
    """Unknown rights bits trap under wasmtime, like any flags argument."""
    if value & ~RIGHTS_ALL:
        raise GuestTrap(f"invalid flag value Rights {value:#x}")
    return value


def _file(handle: Handle) -> FileHandle:
    if not isinstance(handle, FileHandle):
        raise WasiError(Errno.BADF, "not a file")
    return handle


# -- reading and writing ------------------------------------------------------


def fd_read(
    st: WasiState, call: HostCall, fd: int, iovs_ptr: int, iovs_len: int, nread_ptr: int
) -> Generator[Wait, WaitResult, int]:
    mem = call.memory
    with st.table.lease(fd) as handle:
        iovs = first_nonempty(read_iovecs(mem, iovs_ptr, iovs_len))
        want = total_len(iovs)
        if isinstance(handle, FileHandle):
            if not handle.readable:
                raise WasiError(Errno.BADF, "not open for reading")
            allowed = st.faults.admit("read", "file", want)
            if isinstance(allowed, Errno):
                return allowed
            data = os.read(handle.os_fd, allowed) if allowed else b""
        elif isinstance(handle, StdinHandle):
            allowed = st.faults.admit("read", "stdin", want)
            if isinstance(allowed, Errno):
                return allowed
            data = b""
            while allowed:
                chunk = handle.source.read_now(allowed)
                if chunk is not None:
                    data = chunk
                    break
                # Nothing buffered and no EOF yet: park until the pump delivers.
                # Several readers may wake for one chunk; losers park again.
                yield Until(ready=handle.source.ready, describe=f"fd_read({fd})", external=True)
        else:
            raise WasiError(Errno.BADF, "not readable")
    scatter(mem, iovs, data)
    mem.store_u32(nread_ptr, len(data))
    return 0


def fd_write(
    st: WasiState, call: HostCall, fd: int, iovs_ptr: int, iovs_len: int, nwritten_ptr: int
) -> int:
    mem = call.memory
    with st.table.lease(fd) as handle:
        iovs = first_nonempty(read_iovecs(mem, iovs_ptr, iovs_len))
        if isinstance(handle, FileHandle):
            if not handle.writable:
                raise WasiError(Errno.BADF, "not open for writing")
            written = _write_file(st, handle, mem, iovs, None)
        elif isinstance(handle, OutputHandle):
            allowed = st.faults.admit("write", handle.kind, total_len(iovs))
            if isinstance(allowed, Errno):
                return allowed
            data = gather(mem, iovs, allowed)
            if data:
                handle.log.write(call.thread_id, handle.stream, data)
            written = len(data)
        else:
            raise WasiError(Errno.BADF, "not writable")
    mem.store_u32(nwritten_ptr, written)
    return 0


def _write_file(
    st: WasiState,
    handle: FileHandle,
    mem: GuestMemory,
    iovs: list[Iovec],
    offset: int | None,
) -> int:
    allowed = st.faults.admit("write", "file", total_len(iovs))
    if isinstance(allowed, Errno):
        raise WasiError(allowed, "injected fault")
    data = gather(mem, iovs, allowed)
    written = 0
    try:
        if data:
            if offset is None:
                written = os.write(handle.os_fd, data)
            else:
                written = os.pwrite(handle.os_fd, data, offset)
    finally:
        st.faults.refund("write", "file", allowed - written)
    return written


def _offset(value: int) -> int:
    if value > _MAX_OFFSET:
        raise WasiError(Errno.INVAL, "offset too large")
    return value


def fd_pread(
    st: WasiState,
    call: HostCall,
    fd: int,
    iovs_ptr: int,
    iovs_len: int,
    offset: int,
    nread_ptr: int,
) -> int:
    mem = call.memory
    with st.table.lease(fd) as handle:
        if isinstance(handle, StdinHandle):
            raise WasiError(Errno.SPIPE, "stdin is not seekable")
        file = _file(handle)
        if not file.readable:
            raise WasiError(Errno.BADF, "not open for reading")
        iovs = first_nonempty(read_iovecs(mem, iovs_ptr, iovs_len))
        allowed = st.faults.admit("read", "file", total_len(iovs))
        if isinstance(allowed, Errno):
            return allowed
        data = os.pread(file.os_fd, allowed, _offset(offset)) if allowed else b""
    scatter(mem, iovs, data)
    mem.store_u32(nread_ptr, len(data))
    return 0


def fd_pwrite(
    st: WasiState,
    call: HostCall,
    fd: int,
    iovs_ptr: int,
    iovs_len: int,
    offset: int,
    nwritten_ptr: int,
) -> int:
    mem = call.memory
    with st.table.lease(fd) as handle:
        if isinstance(handle, OutputHandle):
            raise WasiError(Errno.SPIPE, "stdout/stderr are not seekable")
        file = _file(handle)
        if not file.writable:
            raise WasiError(Errno.BADF, "not open for writing")
        iovs = first_nonempty(read_iovecs(mem, iovs_ptr, iovs_len))
        # With O_APPEND the host appends regardless of offset (Linux), and so
        # does wasmtime.
        written = _write_file(st, file, mem, iovs, _offset(offset))
    mem.store_u32(nwritten_ptr, written)
    return 0


def fd_seek(
    st: WasiState, call: HostCall, fd: int, offset: int, whence: int, newoffset_ptr: int
) -> int:
    check_enum(Whence, whence)
    with st.table.lease(fd) as handle:
        if isinstance(handle, (StdinHandle, OutputHandle)):
            raise WasiError(Errno.SPIPE, "stdio is not seekable")
        file = _file(handle)
        host_whence = {Whence.SET: os.SEEK_SET, Whence.CUR: os.SEEK_CUR, Whence.END: os.SEEK_END}
        pos = os.lseek(file.os_fd, to_signed64(offset), host_whence[Whence(whence)])
    call.memory.store_u64(newoffset_ptr, pos)
    return 0


def fd_tell(st: WasiState, call: HostCall, fd: int, offset_ptr: int) -> int:
    with st.table.lease(fd) as handle:
        if isinstance(handle, (StdinHandle, OutputHandle)):
            raise WasiError(Errno.SPIPE, "stdio is not seekable")
        pos = os.lseek(_file(handle).os_fd, 0, os.SEEK_CUR)
    call.memory.store_u64(offset_ptr, pos)
    return 0


# -- descriptor management ----------------------------------------------------


def fd_close(st: WasiState, call: HostCall, fd: int) -> int:
    st.table.close(fd)
    return 0


def fd_renumber(st: WasiState, call: HostCall, fd: int, to: int) -> int:
    st.table.renumber(fd, to)
    return 0


def fd_fdstat_get(st: WasiState, call: HostCall, fd: int, buf_ptr: int) -> int:
    with st.table.lease(fd) as handle:
        if isinstance(handle, FileHandle):
            rights = handle.rights()
            flags = handle.fdflags
            packed = FDSTAT.pack(handle.filetype, flags, rights, rights)
        elif isinstance(handle, DirHandle):
            base, inheriting = handle.rights()
            packed = FDSTAT.pack(3, 0, base, inheriting)
        elif isinstance(handle, (StdinHandle, OutputHandle)):
            packed = FDSTAT.pack(handle.filetype, 0, handle.rights, handle.rights)
        else:  # pragma: no cover - every handle kind is listed above
            raise WasiError(Errno.BADF)
    call.memory.write(buf_ptr, packed)
    return 0


def fd_fdstat_set_flags(st: WasiState, call: HostCall, fd: int, flags: int) -> int:
    check_flags(Fdflags, flags)
    with st.table.lease(fd) as handle:
        file = _file(handle)
        if flags & _SYNC_FLAGS:
            # wasmtime cannot change the sync mode of an open file.
            raise WasiError(Errno.INVAL, "sync flags cannot be changed")
        file.set_append(bool(flags & Fdflags.APPEND))
        if flags & Fdflags.NONBLOCK:
            file.fdflags |= Fdflags.NONBLOCK
        else:
            file.fdflags &= ~int(Fdflags.NONBLOCK)
    return 0


def fd_fdstat_set_rights(
    st: WasiState, call: HostCall, fd: int, rights_base: int, rights_inheriting: int
) -> int:
    check_rights(rights_base)
    check_rights(rights_inheriting)
    with st.table.lease(fd) as handle:
        if isinstance(handle, (FileHandle, DirHandle)):
            # wasmtime no longer supports narrowing rights.
            raise WasiError(Errno.NOTSUP, "rights cannot be changed")
        raise WasiError(Errno.BADF)


def fd_filestat_get(st: WasiState, call: HostCall, fd: int, buf_ptr: int) -> int:
    with st.table.lease(fd) as handle:
        if isinstance(handle, (FileHandle, DirHandle)):
            packed = pack_filestat(os.fstat(handle.os_fd))
        elif isinstance(handle, (StdinHandle, OutputHandle)):
            packed = empty_filestat(handle.filetype)
        else:  # pragma: no cover
            raise WasiError(Errno.BADF)
    call.memory.write(buf_ptr, packed)
    return 0


def fd_filestat_set_size(st: WasiState, call: HostCall, fd: int, size: int) -> int:
    with st.table.lease(fd) as handle:
        # A read-only fd gets the host's EINVAL, as under wasmtime.
        os.ftruncate(_file(handle).os_fd, _offset(size))
    return 0


def check_fst_flags(fst_flags: int) -> None:
    """Unknown bits trap; X together with X_NOW is EINVAL, before anything else."""
    check_flags(Fstflags, fst_flags)
    if fst_flags & Fstflags.ATIM and fst_flags & Fstflags.ATIM_NOW:
        raise WasiError(Errno.INVAL, "ATIM and ATIM_NOW")
    if fst_flags & Fstflags.MTIM and fst_flags & Fstflags.MTIM_NOW:
        raise WasiError(Errno.INVAL, "MTIM and MTIM_NOW")


def resolve_times(
    call: HostCall, current: os.stat_result, atim: int, mtim: int, fst_flags: int
) -> tuple[int, int] | None:
    """(atime, mtime) to set, None when nothing is to change."""
    if fst_flags == 0:
        return None
    # "Now" is the guest's wall clock, which is virtual in deterministic mode.
    now = call.realtime_ns() if fst_flags & (Fstflags.ATIM_NOW | Fstflags.MTIM_NOW) else 0
    if fst_flags & Fstflags.ATIM:
        a = atim
    elif fst_flags & Fstflags.ATIM_NOW:
        a = now
    else:
        a = current.st_atime_ns
    if fst_flags & Fstflags.MTIM:
        m = mtim
    elif fst_flags & Fstflags.MTIM_NOW:
        m = now
    else:
        m = current.st_mtime_ns
    return a, m


def fd_filestat_set_times(
    st: WasiState, call: HostCall, fd: int, atim: int, mtim: int, fst_flags: int
) -> int:
    check_fst_flags(fst_flags)
    with st.table.lease(fd) as handle:
        if not isinstance(handle, (FileHandle, DirHandle)):
            raise WasiError(Errno.BADF)
        times = resolve_times(call, os.fstat(handle.os_fd), atim, mtim, fst_flags)
        if times is not None:
            os.utime(handle.os_fd, ns=times)
    return 0


def fd_advise(st: WasiState, call: HostCall, fd: int, offset: int, length: int, advice: int) -> int:
    check_enum(Advice, advice)
    with st.table.lease(fd) as handle:
        file = _file(handle)
        host_advice = {
            Advice.NORMAL: "POSIX_FADV_NORMAL",
            Advice.SEQUENTIAL: "POSIX_FADV_SEQUENTIAL",
            Advice.RANDOM: "POSIX_FADV_RANDOM",
            Advice.WILLNEED: "POSIX_FADV_WILLNEED",
            Advice.DONTNEED: "POSIX_FADV_DONTNEED",
            Advice.NOREUSE: "POSIX_FADV_NOREUSE",
        }[Advice(advice)]
        fadvise = getattr(os, "posix_fadvise", None)
        value = getattr(os, host_advice, None)
        if fadvise is not None and value is not None:
            # Advice only; a host that declines it changes nothing observable.
            try:
                fadvise(file.os_fd, _offset(offset), _offset(length), value)
            except OSError:
                pass
    return 0


def fd_allocate(st: WasiState, call: HostCall, fd: int, offset: int, length: int) -> int:
    with st.table.lease(fd) as handle:
        _file(handle)
        # wasmtime's preview1 no longer implements fd_allocate.
        raise WasiError(Errno.NOTSUP, "fd_allocate")


def fd_sync(st: WasiState, call: HostCall, fd: int) -> int:
    with st.table.lease(fd) as handle:
        os.fsync(_file(handle).os_fd)
    return 0


def fd_datasync(st: WasiState, call: HostCall, fd: int) -> int:
    with st.table.lease(fd) as handle:
        sync = getattr(os, "fdatasync", os.fsync)
        sync(_file(handle).os_fd)
    return 0


# -- preopens and directories -------------------------------------------------


def _preopen(handle: Handle) -> bytes:
    if not isinstance(handle, DirHandle) or handle.preopen_name is None:
        raise WasiError(Errno.BADF, "not a preopen")
    return handle.preopen_name.encode("utf-8")


def fd_prestat_get(st: WasiState, call: HostCall, fd: int, buf_ptr: int) -> int:
    with st.table.lease(fd) as handle:
        name = _preopen(handle)
    call.memory.write(buf_ptr, PRESTAT.pack(0, len(name)))
    return 0


def fd_prestat_dir_name(
    st: WasiState, call: HostCall, fd: int, path_ptr: int, path_len: int
) -> int:
    with st.table.lease(fd) as handle:
        if not isinstance(handle, DirHandle) or handle.preopen_name is None:
            # Unlike fd_prestat_get (EBADF), wasmtime says ENOTDIR here.
            raise WasiError(Errno.NOTDIR, "not a preopen")
        name = handle.preopen_name.encode("utf-8")
    if path_len < len(name):
        raise WasiError(Errno.NAMETOOLONG, "buffer too small for the preopen name")
    call.memory.write(path_ptr, name)
    return 0


def fd_readdir(
    st: WasiState,
    call: HostCall,
    fd: int,
    buf_ptr: int,
    buf_len: int,
    cookie: int,
    bufused_ptr: int,
) -> int:
    """Entries from index `cookie` on; d_next of entry i is i+1 (so cookies are indexes).

    Like wasmtime, the last entry is cut off when the buffer is full and the
    buffer is then reported full: the guest (wasi-libc) retries with a
    bigger buffer from the last whole entry's cookie.
    """
    with st.table.lease(fd) as handle:
        if not isinstance(handle, DirHandle):
            raise WasiError(Errno.BADF, "not a directory")
        entries = list_directory(handle.os_fd)
    out = bytearray()
    for index in range(cookie, len(entries)):
        entry = entries[index]
        out += DIRENT.pack(index + 1, entry.ino, len(entry.name), entry.filetype) + entry.name
        if len(out) >= buf_len:
            break
    data = bytes(out[:buf_len])
    call.memory.write(buf_ptr, data)
    call.memory.store_u32(bufused_ptr, len(data))
    return 0
