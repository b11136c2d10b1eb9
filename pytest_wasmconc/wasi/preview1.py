"""`WasiPreview1`: one process-wide WASI preview1 host shared by all guest threads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, Self

from ..runtime.hostapi import HostFunction
from . import fdcalls, pathcalls, poll, proccalls
from .config import WasiConfig
from .dispatch import make_host_function
from .signatures import SIGNATURES
from .state import WasiState
from .trace import TraceEntry

__all__ = ["WasiPreview1"]

_IMPL_MODULES = (fdcalls, pathcalls, poll, proccalls)


def _impl(name: str) -> Callable[..., Any]:
    for module in _IMPL_MODULES:
        impl = getattr(module, name, None)
        if impl is not None:
            return impl  # type: ignore[no-any-return]
    raise LookupError(f"no implementation of {name}")  # pragma: no cover - tested


class WasiPreview1:
    """The `wasi_snapshot_preview1` imports over one shared state.

    Thread-safe: the OS-thread mode calls these host functions from several
    OS threads at once. Raises `WasiConfigError` for an unusable config.
    A runtime `CoreWorld` (runtime/worlds.py).
    """

    native = False  # its imports go through `functions`, not wasmtime's own WASI

    def __init__(self, config: WasiConfig) -> None:
        self.config = config
        self._waker_lock = threading.Lock()
        self._waker: Callable[[], None] | None = None
        self._state = WasiState(config, self._wake)
        self._closed = False
        # The host functions built so far, by the names asked for: they read `state` at each call, so
        # a renewed host (`renew`) serves its next execution with the same ones.
        self._functions: dict[tuple[str, ...] | None, list[HostFunction]] = {}

    @property
    def state(self) -> WasiState:
        """The state the host functions serve (a new one after `renew`)."""
        return self._state

    def renew(self) -> None:
        """This host for another execution of the same guest (an exploration's next schedule): closed, then
        given a new state from the same configuration, as a new `WasiPreview1(config)` would be, keeping its
        host functions (built once per exploration instead of once per execution)."""
        self.close()
        with self._waker_lock:
            self._waker = None
        self._state = WasiState(self.config, self._wake)
        self._closed = False

    # -- runtime side ---------------------------------------------------------

    def configure_store(self, store: Any) -> None:
        """Nothing per store: one state serves every guest thread."""

    def functions(self, only: Iterable[str] | None = None) -> list[HostFunction]:
        """The preview1 imports (module "wasi_snapshot_preview1"): every one, or the names in `only`.

        Built on request, once per host: a guest imports a handful of the 46,
        and an exploration renews one host for each execution (`renew`).
        """
        key = None if only is None else tuple(only)
        made = self._functions.get(key)
        if made is None:
            names = SIGNATURES if key is None else [n for n in key if n in SIGNATURES]
            made = self._functions[key] = [make_host_function(self, n, _impl(n)) for n in names]
        return list(made)

    def set_waker(self, waker: Callable[[], None]) -> None:
        """Installed by the runtime; called from any thread when an external
        wait (stdin data arriving) may have become ready."""
        with self._waker_lock:
            self._waker = waker

    def _wake(self) -> None:
        with self._waker_lock:
            waker = self._waker
        if waker is not None:
            waker()

    # -- what tests and reports read -----------------------------------------

    @property
    def stdout(self) -> bytes:
        """Everything written to stdout so far."""
        return self._state.output.stream(1)

    @property
    def stderr(self) -> bytes:
        return self._state.output.stream(2)

    @property
    def output_events(self) -> list[tuple[int, int, bytes]]:
        """(thread_id, stream 1|2, data) for every write, in the order they happened."""
        return self._state.output.events()

    @property
    def trace(self) -> list[TraceEntry]:
        """The last `trace_limit` calls, oldest first."""
        return self._state.trace.entries()

    @property
    def trace_dropped(self) -> int:
        """How many older entries the bound has discarded."""
        return self._state.trace.dropped

    @property
    def injected_faults(self) -> list[tuple[str, int, str]]:
        """(op, call number, what) for each fault the FaultPlan injected."""
        return list(self._state.faults.injected)

    def open_fds(self) -> list[int]:
        return self._state.table.fds()

    def close(self) -> None:
        """Close every host descriptor (fds still in use close when their call ends)."""
        if self._closed:
            return
        self._closed = True
        self._state.table.close_all()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
