"""The exports a guest thread's call uses from its instance, looked up once per instance.

A thread starting its call needs the instrumenter's counter and progress globals, sometimes the
access-cost global, and its entry function (`_start` or `wasi_thread_start`). Each is a native
lookup by name; an instance kept by the reset path (reuse.py) serves a thread in every schedule
of an exploration, and its exports never change, so they are looked up the first time and kept
with the instance. The handles are the store's own (store id and index), valid while the store is.
"""

from __future__ import annotations

import functools
from typing import Any

from ...instrument.abi import ACCESS_COST_EXPORT, BUDGET_EXPORT, PROGRESS_EXPORT
from ..lane import _lane
from ..wasmtime import calls

__all__ = ["InstanceExports"]

_BUDGET_NAME = BUDGET_EXPORT.encode()
_PROGRESS_NAME = PROGRESS_EXPORT.encode()
_COST_NAME = ACCESS_COST_EXPORT.encode()
_UNSET: Any = object()
# wasmtime_val_t of an i64 (kind 1, padding, the value at offset 8), as _lane.reset_globals reads it.
_I64_KIND = 1


@functools.lru_cache(maxsize=16)  # a few costs only: ACCESS_COST, 0, a step-mode policy's
def _i64_val(value: int) -> bytes:
    raw = bytes((_I64_KIND,)) + bytes(7) + value.to_bytes(8, "little", signed=True)
    return raw + bytes(_lane.VAL_SIZE - len(raw))


class InstanceExports:
    """One instance's exports as raw handles (calls.py), each looked up on first use."""

    __slots__ = ("_budget", "_cost", "_entries", "_progress", "instance")

    def __init__(self, instance: Any) -> None:
        self.instance = instance  # the wasmtime_instance_t they belong to
        self._budget: Any = _UNSET
        self._progress: Any = _UNSET
        self._cost: Any = _UNSET
        self._entries: dict[bytes, Any] = {}

    def budget(self, context: int) -> bytes | None:
        """The preemption counter's global (absent when the module defines no function)."""
        if self._budget is _UNSET:
            self._budget = calls.export_global_bytes(context, self.instance, _BUDGET_NAME)
        return self._budget  # type: ignore[no-any-return]

    def progress(self, context: int) -> bytes | None:
        """The progress global (absent without an atomic read-modify-write)."""
        if self._progress is _UNSET:
            self._progress = calls.export_global_bytes(context, self.instance, _PROGRESS_NAME)
        return self._progress  # type: ignore[no-any-return]

    def entry(self, context: int, name: bytes) -> Any:
        """A function export's wasmtime_func_t, or None. A kept instance serves main in one schedule and a
        worker in another, so both entries may be asked of it."""
        func = self._entries.get(name, _UNSET)
        if func is _UNSET:
            func = self._entries[name] = calls.export_func(context, self.instance, name)
        return func

    def set_access_cost(self, context: int, cost: int) -> None:
        """Write the access-cost global (the shared level's; nothing where the module has none). One C call
        instead of wasmtime-py's Global wrapper, which checks the type and builds a Val each time."""
        if self._cost is _UNSET:
            self._cost = calls.export_global_bytes(context, self.instance, _COST_NAME)
        if self._cost is not None:
            _lane.reset_globals(context, self._cost, _i64_val(cost))
