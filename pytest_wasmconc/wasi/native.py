"""Wasmtime's own WASI preview1 (`--wasi native`), one context per guest thread.

It is the reference the project's sandbox is compared against, and a way to
run single-threaded guests exactly as wasmtime-py would. Every guest thread
gets its own WASI context (own fd table): threads do not share open files.
"""

from __future__ import annotations

import os
import tempfile
import threading
from typing import Any

import wasmtime

from ..runtime.hostapi import HostFunction

__all__ = ["NativeWasi"]


class NativeWasi:
    """Configures each guest store with a wasmtime WasiConfig and collects its output."""

    native = True

    def __init__(self, args: list[str], env: dict[str, str], dirs: list[tuple[str, str]],
                 stdin: bytes | str | os.PathLike | None, passthrough: bool) -> None:
        self._args = args
        self._env = env
        self._dirs = dirs
        self._passthrough = passthrough
        self._out: list[bytes] = []
        self._err: list[bytes] = []
        self._lock = threading.Lock()
        self._stdin_path: str | None = None
        self._tmp: str | None = None
        if isinstance(stdin, (bytes, bytearray)):
            fd, self._tmp = tempfile.mkstemp(prefix="wasmconc-stdin-")
            with os.fdopen(fd, "wb") as f:
                f.write(stdin)
            self._stdin_path = self._tmp
        elif stdin is not None and stdin != "inherit":
            self._stdin_path = os.fspath(stdin)
        self._inherit_stdin = stdin == "inherit"

    def functions(self, only: Any = None) -> list[HostFunction]:
        return []  # defined by Linker.define_wasi instead

    def set_waker(self, waker: Any) -> None:
        pass

    def _sink(self, parts: list[bytes], real_fd: int) -> Any:
        def write(data: bytes) -> int:
            with self._lock:
                parts.append(bytes(data))
            if self._passthrough:
                os.write(real_fd, data)
            return len(data)

        return write

    def configure_store(self, store: wasmtime.Store) -> None:
        cfg = wasmtime.WasiConfig()
        cfg.argv = self._args
        cfg.env = list(self._env.items())
        for host, guest in self._dirs:
            cfg.preopen_dir(host, guest)
        if self._inherit_stdin:
            cfg.inherit_stdin()
        elif self._stdin_path is not None:
            cfg.stdin_file = self._stdin_path
        cfg.stdout_custom = self._sink(self._out, 1)
        cfg.stderr_custom = self._sink(self._err, 2)
        store.set_wasi(cfg)

    @property
    def stdout(self) -> bytes:
        with self._lock:
            return b"".join(self._out)

    @property
    def stderr(self) -> bytes:
        with self._lock:
            return b"".join(self._err)

    @property
    def trace(self) -> list[Any]:
        return []  # wasmtime's WASI keeps no trace

    @property
    def trace_dropped(self) -> int:
        return 0

    def close(self) -> None:
        if self._tmp is not None:
            try:
                os.unlink(self._tmp)
            except OSError:
                pass
            self._tmp = None
