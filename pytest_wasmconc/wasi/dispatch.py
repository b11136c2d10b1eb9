"""Turning `impl(state, call, *args)` functions into `HostFunction`s.

The wrapper is where errors become errnos (WasiError -> its errno, host
OSError -> the mapped errno) and where every call is traced. A
`MemoryFault` (bad guest pointer) is *not* turned into EFAULT: wasmtime
traps on it, and so does the runtime when it propagates. Impls that may block are
generator functions and are wrapped by a generator function, so the
runtime can tell them apart by `inspect.isgeneratorfunction` as well as
by the returned object.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Generator
from typing import Any, Protocol

from ..runtime.hostapi import (
    GuestExit,
    GuestTrap,
    HostCall,
    HostFunction,
    MemoryFault,
    Wait,
    WaitResult,
    signature,
)
from .errno import WasiError, errno_from_oserror
from .signatures import MODULE, SIGNATURES
from .state import WasiState
from .trace import TraceEntry

__all__ = ["StateSource", "make_host_function"]

Impl = Callable[..., Any]


class StateSource(Protocol):
    """Where a host function finds the WASI state of the execution calling it (WasiPreview1: a host renewed for
    each execution of an exploration keeps its host functions and changes its state)."""

    @property
    def state(self) -> WasiState: ...


def _settle(
    state: WasiState, call: HostCall, name: str, args: tuple[int, ...], exc: BaseException
) -> int:
    """The errno for `exc`, or re-raise it (traced) if it is not an errno."""
    if isinstance(exc, WasiError):
        result = int(exc.errno)
    elif isinstance(exc, OSError):
        result = int(errno_from_oserror(exc))
    else:
        if isinstance(exc, GuestExit):
            state.trace.add(TraceEntry(call.thread_id, name, args, f"exit({exc.code})"))
        elif isinstance(exc, (GuestTrap, MemoryFault)):
            state.trace.add(TraceEntry(call.thread_id, name, args, f"trap: {exc}"))
        elif not isinstance(exc, GeneratorExit):
            state.trace.add(TraceEntry(call.thread_id, name, args, f"error: {exc!r}"))
        raise exc
    state.trace.add(TraceEntry(call.thread_id, name, args, result))
    return result


@functools.cache
def _describe(name: str, impl: Impl) -> tuple[tuple[Any, ...], tuple[Any, ...], str, bool]:
    """Signature, doc and blocking-ness of one call: the same for every execution, so computed once."""
    params, results = signature(*SIGNATURES[name])
    return params, results, (impl.__doc__ or "").strip(), inspect.isgeneratorfunction(impl)


def make_host_function(source: StateSource, name: str, impl: Impl) -> HostFunction:
    """`name`'s host function over the state `source` has when it is called (a blocking call keeps the
    state it started with: its execution's)."""
    params, results, doc, blocking = _describe(name, impl)

    if blocking:

        def run_blocking(call: HostCall, *args: int) -> Generator[Wait, WaitResult, int]:
            state = source.state
            try:
                result = yield from impl(state, call, *args)
            except BaseException as exc:  # noqa: BLE001 - sorted out in _settle
                return _settle(state, call, name, args, exc)
            result = int(result or 0)
            state.trace.add(TraceEntry(call.thread_id, name, args, result))
            return result

        run_blocking.__name__ = name
        return HostFunction(MODULE, name, params, results, run_blocking, doc=doc)

    def run(call: HostCall, *args: int) -> int | None:
        state = source.state
        try:
            result = impl(state, call, *args)
        except BaseException as exc:  # noqa: BLE001 - sorted out in _settle
            return _settle(state, call, name, args, exc)
        if not results:
            state.trace.add(TraceEntry(call.thread_id, name, args, 0))
            return None
        result = int(result or 0)
        state.trace.add(TraceEntry(call.thread_id, name, args, result))
        return result

    run.__name__ = name
    return HostFunction(MODULE, name, params, results, run, doc=doc)
