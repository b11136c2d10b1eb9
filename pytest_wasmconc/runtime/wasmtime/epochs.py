"""Epoch deadlines: one process-wide callback asks the runtime, at each deadline, to go on, yield or trap."""

from __future__ import annotations

import ctypes
from collections.abc import Callable

import wasmtime
from wasmtime import _ffi as ffi

from .interrupts import callback_failure
from .capi import NO_FINALIZER

__all__ = [
    "UPDATE_DEADLINE_CONTINUE", "UPDATE_DEADLINE_YIELD", "install_epoch_callback", "set_epoch_deadline",
    "set_epoch_handler",
]

UPDATE_DEADLINE_CONTINUE = 0
UPDATE_DEADLINE_YIELD = 1

EpochDecision = Callable[[int], "tuple[int, int] | str"]
"""Given a store key: (kind, delta) to go on, or a message to trap the thread with."""

_EPOCH_HANDLER: list[EpochDecision | None] = [None]


def set_epoch_handler(handler: EpochDecision) -> None:
    """Install the process-wide decision function the epoch callback consults."""
    _EPOCH_HANDLER[0] = handler


_epoch_cb_type = ctypes.CFUNCTYPE(
    ctypes.c_size_t,
    ctypes.POINTER(ffi.wasmtime_context_t),
    ctypes.c_void_p,
    ctypes.POINTER(ctypes.c_uint64),
    ctypes.POINTER(ctypes.c_uint8),
)


@_epoch_cb_type
def _epoch_callback(context, data, delta_ret, kind_ret):  # type: ignore[no-untyped-def]
    handler = _EPOCH_HANDLER[0]
    try:
        decision = handler(data or 0) if handler is not None else (UPDATE_DEADLINE_CONTINUE, 1)
    except BaseException as exc:  # never unwind into Rust
        decision = callback_failure(exc, "in epoch callback")
    if isinstance(decision, str):
        err = ffi.wasmtime_error_new(decision.encode())
        return ctypes.cast(err, ctypes.c_void_p).value or 0
    kind, delta = decision
    delta_ret[0] = delta
    kind_ret[0] = kind
    return 0




def install_epoch_callback(store: wasmtime.Store, key: int, first_deadline: int = 1) -> None:
    ffi.wasmtime_store_epoch_deadline_callback(store.ptr(), _epoch_callback, key, NO_FINALIZER)
    ffi.wasmtime_context_set_epoch_deadline(store._context(), first_deadline)


def set_epoch_deadline(store: wasmtime.Store, ticks_beyond_current: int) -> None:
    ffi.wasmtime_context_set_epoch_deadline(store._context(), ticks_beyond_current)
