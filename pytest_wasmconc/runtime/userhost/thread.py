"""The host side of one guest thread: its worker, its exports, and what its host calls add to its backtrace."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import wasmtime

from ..hostapi import ValType
from ..machine.threads import Phase
from ..settings import RunSettings
from .sync import GuestOwner, Touched
from .worker import HostWorker, acquire_worker

if TYPE_CHECKING:
    from ..machine.threads import GuestThread

__all__ = ["ExportEntry", "Level", "Pending", "RunState", "ThreadHost"]

ExportEntry = tuple[Any, tuple[ValType, ...], tuple[ValType, ...]]  # (wasmtime.Func, params, results)


class RunState(Protocol):
    """What the host side of a guest thread needs from its execution's user imports (run.HostRun)."""

    key: int  # tells this execution's guest threads apart from another's, as owners of host objects
    serial: bool  # one guest thread runs at a time (fuel, epoch): waits are scheduling points
    deterministic: bool  # fuel mode
    waker: Callable[[], None]  # tells the execution that something a parked thread waits for changed
    settings: RunSettings

    def now_ns(self) -> int: ...
    def touch(self, obj: Touched) -> None: ...
    def wait_limit(self) -> tuple[float | None, str]: ...
    def take_snapshot(self) -> None: ...


class Pending(Protocol):
    """A user host call in flight on a guest thread's worker (session.HostSession)."""

    def shutdown(self) -> None: ...


@dataclass
class Level:
    """What a host call level contributes to its guest thread's backtrace in a report."""

    header: str
    python: list[str]
    nested_frames: list[str] | None  # the frames of its call back into the guest, when that was stopped


class ThreadHost:
    """Per guest thread: its worker, its export cache, and report levels."""

    def __init__(self, run: RunState, thread: GuestThread) -> None:
        self.run = run
        self.thread = thread
        self.tid = thread.tid
        self.owner = GuestOwner(run.key, thread.tid)
        self.worker: HostWorker | None = None
        self.mem_lock = threading.Lock()
        self.exports: dict[str, ExportEntry | None] = {}
        self.levels: list[Level] = []  # innermost first (the order they are stopped in)
        self.sessions: list[Pending] = []  # active worker calls, outermost first

    def get_worker(self) -> HostWorker:
        w = self.worker
        if w is None or w.abandoned:
            w = self.worker = acquire_worker(f"wasmconc-host-{self.tid}")
        return w

    def decorate(self, outer: list[str]) -> list[str]:
        """The thread's frames with each stopped host call (and the guest code it called) spliced in."""
        below = outer
        chunks: list[tuple[list[str], list[str]]] = []
        for lv in reversed(self.levels):  # outermost first
            above: list[str] = []
            if lv.nested_frames is not None:
                above = lv.nested_frames[:max(0, len(lv.nested_frames) - len(below))]
                below = lv.nested_frames
            chunks.append((above, [lv.header] + [f"  {ln}" for ln in lv.python]))
        out: list[str] = []
        for above, host in reversed(chunks):
            out += above + host
        return out + outer

    def export(self, name: str) -> ExportEntry | str:
        """The export `name` of this thread's instance as (func, params, results), or why not."""
        t = self.thread
        if t.phase is not Phase.RUNNING or t.store is None or t._raw_instance is None:
            return (f"cannot call {name!r}: the guest instance is still being instantiated (a host function "
                    "called from the module's start function cannot call its exports yet)")
        if name not in self.exports:
            inst = wasmtime.Instance._from_raw(t._raw_instance)
            exports = inst.exports(t.store)
            item = exports.get(name)
            if not isinstance(item, wasmtime.Func):
                self.exports[name] = None
            else:
                # From the program's bytes, never str(ValType): a v128 one aborts the process.
                sig = getattr(t.execution.program, "export_sigs", {}).get(name)
                if sig is None:
                    return f"cannot call {name!r}: only exports with numeric parameters and results are supported"
                self.exports[name] = (item, sig[0], sig[1])
        entry = self.exports[name]
        if entry is None:
            funcs = sorted(k for k, v in t.execution.program.exports.items() if v == "func")
            return f"the guest has no function export {name!r} (its function exports: {', '.join(funcs) or 'none'})"
        return entry
