"""The one process-wide WASI state every guest thread's calls share."""

from __future__ import annotations

import os
import stat as host_stat
import sys
from collections.abc import Callable

from .config import WasiConfig, WasiConfigError
from .faults import FaultInjector
from .fdtable import FdTable
from .files import DirHandle
from .stdio import (
    BufferSource,
    FileSource,
    OutputHandle,
    OutputLog,
    PumpSource,
    StdinHandle,
    StdinSource,
)
from .trace import Trace

__all__ = ["WasiState"]


class WasiState:
    def __init__(self, config: WasiConfig, wake: Callable[[], None]) -> None:
        config.validate()
        self.wake = wake
        self.args = [a.encode("utf-8") for a in config.args]
        self.env = [f"{k}={v}".encode() for k, v in config.env.items()]
        self.table = FdTable()
        self.output = OutputLog(config.stdout_passthrough)
        self.trace = Trace(config.trace_limit)
        self.faults = FaultInjector(config.faults)
        try:
            self.table.insert_at(0, StdinHandle(self._stdin_source(config)))
            self.table.insert_at(1, OutputHandle(1, self.output))
            self.table.insert_at(2, OutputHandle(2, self.output))
            for i, pre in enumerate(config.preopens):
                host_dir = os.fspath(pre.host_dir)
                try:
                    fd = os.open(host_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                except OSError as exc:
                    raise WasiConfigError(
                        f"cannot open preopen {host_dir!r}: {exc.strerror}"
                    ) from None
                self.table.insert_at(3 + i, DirHandle(fd, preopen_name=pre.guest_path))
        except BaseException:
            self.table.close_all()
            raise

    def _stdin_source(self, config: WasiConfig) -> StdinSource:
        spec = config.stdin
        if spec is None:
            return BufferSource(b"")
        if isinstance(spec, (bytes, bytearray)):
            return BufferSource(bytes(spec))
        if spec == "inherit":
            try:
                fd = sys.stdin.fileno()
            except (AttributeError, OSError, ValueError):
                fd = 0  # pytest swaps sys.stdin out; the process's fd 0 is still there
            return PumpSource(fd, owned=False, waker=self.wake)
        path = os.fspath(spec)
        if host_stat.S_ISREG(os.stat(path).st_mode):
            try:
                return FileSource(path)
            except OSError as exc:
                raise WasiConfigError(f"cannot open stdin file {path!r}: {exc.strerror}") from None
        # A FIFO or device may block: open without waiting for a writer, then
        # let a pump thread do the blocking reads.
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            raise WasiConfigError(f"cannot open stdin {path!r}: {exc.strerror}") from None
        os.set_blocking(fd, True)
        return PumpSource(fd, owned=True, waker=self.wake)
