"""The lock pass a timeline runs with, so that its lanes show lock acquisitions and releases.

The lock-order check's pass (instrument/locks.py) rewrites each call of a lock
function into `wasmconc.lock_event` reports; a timeline uses the same pass
when no extension of the execution runs it already (two would report the same
calls twice). Its import does nothing: the recorder sees every call of it
(recorder.py), whoever provides it. The pass leaves the guest's instruction
counts alone, so the schedule of a seed or token is the same with it
(the runner checks each re-run it makes against the original).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ...instrument.locks import DEFAULT_LOCK_TABLE, LOCK_EVENT, LOCK_EVENT64, LockInstrumentation, LockPass
from ..extensions import CheckAttachment
from ..hostapi import HostFunction, ValType

if TYPE_CHECKING:
    from ...instrument import ModuleRewriter
    from ..loading.program import Program
    from ..settings import RunSettings

__all__ = ["PASS_KEY", "TimelineLocks", "needs_lock_pass"]

PASS_KEY = "timeline-locks"
_HOST_MODULE = "wasmconc"


def _ignore(call: Any, lock_id: int, result: int, site: int) -> None:
    return None


class _Attachment(CheckAttachment):
    def host_functions(self) -> Sequence[HostFunction]:
        i32, i64 = ValType.I32, ValType.I64
        return [HostFunction(_HOST_MODULE, LOCK_EVENT, (i32, i32, i32), (), _ignore),
                HostFunction(_HOST_MODULE, LOCK_EVENT64, (i64, i32, i32), (), _ignore)]


class TimelineLocks:
    """An extension (runtime/extensions.py) with the lock pass and a do-nothing `lock_event`."""

    pass_key = PASS_KEY

    def __init__(self) -> None:
        self._pass = LockPass(DEFAULT_LOCK_TABLE)

    def instrument(self, rw: ModuleRewriter, names: dict[int, str]) -> LockInstrumentation:
        return self._pass.run(rw, names)

    def attach(self, program: Program, settings: RunSettings) -> _Attachment:
        return _Attachment()


def needs_lock_pass(extensions: Sequence[Any]) -> bool:
    """True unless an extension already runs a lock pass (the lock-order check's keys say "lock-order")."""
    return not any(str(getattr(e, "pass_key", None) or "").startswith(("lock-order", PASS_KEY)) for e in extensions)
