"""fds 0, 1 and 2: stdin sources and captured stdout/stderr.

stdin is one of:
* `BufferSource` - fixed bytes (also "no stdin": empty), never blocks;
* `FileSource`   - a regular host file, read on demand, never blocks;
* `PumpSource`   - a stream that may block (the real stdin, a FIFO): a
  daemon thread reads it into a buffer and calls the waker, and guest
  reads park on an external `Until` while the buffer is empty. The pump
  starts on first use so that a guest that never reads stdin does not
  consume the test process's stdin, and stops when the execution closes
  its WASI (input that arrives later stays for the next reader).

stdout/stderr go to an `OutputLog` that keeps every write in order across
threads, optionally echoing to the real streams.
"""

from __future__ import annotations

import os
import select
import sys
import threading
from collections.abc import Callable

from .fdtable import Handle
from .layout import Filetype, Rights

__all__ = [
    "BufferSource",
    "FileSource",
    "OutputHandle",
    "OutputLog",
    "PumpSource",
    "StdinHandle",
    "StdinSource",
]


class StdinSource:
    """Where fd 0's bytes come from."""

    def read_now(self, n: int) -> bytes | None:
        """Up to n bytes, b"" at EOF, or None if reading now would block."""
        raise NotImplementedError

    def ready(self) -> bool:
        """True when `read_now` would not return None. Cheap, no side effects
        (it is an `Until` predicate)."""
        return True

    def arm(self) -> None:
        """Start whatever will make `ready` turn true (called before waiting)."""

    def close(self) -> None:
        pass

    is_tty = False


class BufferSource(StdinSource):
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0
        self._lock = threading.Lock()

    def read_now(self, n: int) -> bytes | None:
        with self._lock:
            chunk = self._data[self._pos : self._pos + n]
            self._pos += len(chunk)
            return chunk


class FileSource(StdinSource):
    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)

    def read_now(self, n: int) -> bytes | None:
        return os.read(self._fd, n)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class PumpSource(StdinSource):
    """A possibly-blocking host stream drained by a daemon thread.

    The pump belongs to one execution: `close` stops it (a stop pipe it
    selects on together with the stream) before it reads anything more, so
    a pump never outlives its execution blocked in read(2), where it would
    take input that arrives later away from the next execution.
    """

    CHUNK = 65536
    STOP_WAIT_S = 1.0  # how long close() waits for the pump to leave

    def __init__(self, fd: int, *, owned: bool, waker: Callable[[], None]) -> None:
        self._fd = fd
        self._owned = owned
        self._waker = waker
        self._buffer = bytearray()
        self._eof = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop_r = self._stop_w = -1
        self._closed = False
        self.is_tty = os.isatty(fd)

    def _start(self) -> None:
        # Caller holds self._lock.
        if self._thread is None and not self._eof and not self._closed:
            self._stop_r, self._stop_w = os.pipe()
            self._thread = threading.Thread(target=self._pump, args=(self._stop_r,), name="wasi-stdin-pump",
                                            daemon=True)
            self._thread.start()

    def _pump(self, stop: int) -> None:
        try:
            while True:
                try:
                    readable, _, _ = select.select([self._fd, stop], [], [])
                except (OSError, ValueError):
                    readable = [self._fd]  # no select for this stream: a plain blocking read
                if stop in readable:
                    return  # closed: what is still unread stays in the stream for whoever reads next
                try:
                    chunk = os.read(self._fd, self.CHUNK)
                except BlockingIOError:
                    continue  # someone else (another reader of the stream) was faster
                except OSError:
                    chunk = b""
                with self._lock:
                    if chunk:
                        self._buffer += chunk
                    else:
                        self._eof = True
                self._waker()
                if not chunk:
                    return
        finally:
            os.close(stop)

    def read_now(self, n: int) -> bytes | None:
        with self._lock:
            self._start()
            if self._buffer:
                chunk = bytes(self._buffer[:n])
                del self._buffer[:n]
                return chunk
            if self._eof:
                return b""
            return None

    def ready(self) -> bool:
        with self._lock:
            return bool(self._buffer) or self._eof

    def arm(self) -> None:
        with self._lock:
            self._start()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread, stop_w = self._thread, self._stop_w
        if thread is not None:
            try:
                os.write(stop_w, b"x")
            except OSError:
                pass  # BrokenPipeError: the pump already left (end of the stream)
            finally:
                os.close(stop_w)
            # A pump inside os.read of a ready stream returns at once; one whose
            # stream has no select (see _pump) may stay blocked: it is a daemon.
            thread.join(self.STOP_WAIT_S)
        if self._owned:
            try:
                os.close(self._fd)
            except OSError:
                pass


class StdinHandle(Handle):
    kind = "stdin"

    def __init__(self, source: StdinSource) -> None:
        super().__init__()
        self.source = source

    @property
    def filetype(self) -> Filetype:
        return Filetype.CHARACTER_DEVICE if self.source.is_tty else Filetype.UNKNOWN

    rights = int(Rights.FD_READ)

    def _release(self) -> None:
        self.source.close()


class OutputLog:
    """Everything guests wrote to stdout/stderr, in the order it was written."""

    def __init__(self, passthrough: bool) -> None:
        self._lock = threading.Lock()
        self._events: list[tuple[int, int, bytes]] = []
        self._passthrough = passthrough

    def write(self, thread_id: int, stream: int, data: bytes) -> None:
        with self._lock:
            self._events.append((thread_id, stream, data))
            if self._passthrough:
                # Inside the lock so the real streams see the same order.
                real = sys.stdout if stream == 1 else sys.stderr
                buffer = getattr(real, "buffer", None)
                if buffer is not None:
                    buffer.write(data)
                else:
                    real.write(data.decode("utf-8", "replace"))
                real.flush()

    def events(self) -> list[tuple[int, int, bytes]]:
        with self._lock:
            return list(self._events)

    def stream(self, stream: int) -> bytes:
        with self._lock:
            return b"".join(data for _, s, data in self._events if s == stream)


class OutputHandle(Handle):
    """stdout (stream 1) or stderr (stream 2)."""

    def __init__(self, stream: int, log: OutputLog) -> None:
        super().__init__()
        self.stream = stream
        self.log = log
        self.kind = "stdout" if stream == 1 else "stderr"

    filetype = Filetype.UNKNOWN
    rights = int(Rights.FD_WRITE)
