"""The process-wide descriptor table shared by every guest thread.

One lock guards the mapping and the reference counts; it is never held
while doing I/O or while a guest thread is parked. A call *leases* the
handle it works on: while leased, the host resource stays open even if
another thread closes or renumbers the fd meanwhile. This is what keeps
a racing `fd_close` from letting the host OS reuse the descriptor number
under a concurrent `fd_read` (which would then read an unrelated file).
"""

from __future__ import annotations

import threading

from .errno import Errno, WasiError

__all__ = ["FdTable", "Handle"]


class Handle:
    """Something an fd refers to. Subclasses release host resources in `_release`."""

    # What fault plans target: "file", "dir", "stdin", "stdout", "stderr".
    kind: str = "handle"

    def __init__(self) -> None:
        self._refs = 1  # the table's own reference; guarded by the table lock

    def _release(self) -> None:
        """Free host resources; called exactly once, when the last reference goes."""


class _Lease:
    """A leased handle, released when the `with` block ends however it ends. A class rather than a
    generator context manager: most WASI calls take one lease, and a generator's set-up cost more than
    the rest of a short call."""

    __slots__ = ("_handle", "_table")

    def __init__(self, table: FdTable, handle: Handle) -> None:
        self._table = table
        self._handle = handle

    def __enter__(self) -> Handle:
        return self._handle

    def __exit__(self, *exc: object) -> None:
        self._table._unref(self._handle)


class FdTable:
    """fd -> Handle, lowest free number first (as wasmtime allocates)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handles: dict[int, Handle] = {}

    def insert(self, handle: Handle) -> int:
        with self._lock:
            fd = 0
            while fd in self._handles:
                fd += 1
            self._handles[fd] = handle
            return fd

    def insert_at(self, fd: int, handle: Handle) -> None:
        """Install at a fixed number (stdio, preopens) during setup."""
        with self._lock:
            if fd in self._handles:
                raise ValueError(f"fd {fd} already in use")
            self._handles[fd] = handle

    def lease(self, fd: int) -> _Lease:
        """Use the handle at `fd` (EBADF if there is none), as `with table.lease(fd) as handle:`."""
        with self._lock:
            handle = self._handles.get(fd)
            if handle is None:
                raise WasiError(Errno.BADF, f"fd {fd}")
            handle._refs += 1
        return _Lease(self, handle)

    def peek(self, fd: int) -> Handle | None:
        """The handle at `fd` without leasing it (for type checks only)."""
        with self._lock:
            return self._handles.get(fd)

    def close(self, fd: int) -> None:
        with self._lock:
            handle = self._handles.pop(fd, None)
        if handle is None:
            raise WasiError(Errno.BADF, f"fd {fd}")
        self._unref(handle)

    def renumber(self, src: int, dst: int) -> None:
        """Move `src` onto `dst`, closing what `dst` held; both must be open."""
        with self._lock:
            if src not in self._handles or dst not in self._handles:
                raise WasiError(Errno.BADF, f"fd {src} -> {dst}")
            if src == dst:
                return
            displaced = self._handles[dst]
            self._handles[dst] = self._handles.pop(src)
        self._unref(displaced)

    def close_all(self) -> None:
        with self._lock:
            handles = list(self._handles.values())
            self._handles.clear()
        for handle in handles:
            self._unref(handle)

    def fds(self) -> list[int]:
        with self._lock:
            return sorted(self._handles)

    def _unref(self, handle: Handle) -> None:
        with self._lock:
            handle._refs -= 1
            last = handle._refs == 0
        if last:
            handle._release()
