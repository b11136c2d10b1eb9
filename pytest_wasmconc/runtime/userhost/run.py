"""One execution's user imports: the checked callables as host functions, per-thread hosts, the report.

Underneath, every user import is an async host function (the only kind a
store with fuel yields or epochs accepts, so the mistake of wasmtime #9515
cannot be made here), and the callable runs on the guest thread's host
worker (worker.py), driven by a `HostSession` (session.py). A callable
marked `@nonblocking` runs inline instead; it must not wait or call back.

Why a worker and not inline by default: a plain function cannot suspend in
the middle, so one that might wait must not run on the thread that drives
every guest thread; and inline-or-worker cannot be chosen per call without
changing the schedule (a wait on the worker is a scheduling point). Measured
on the project's 2-core machine, 20,000 calls of a trivial i32 -> i32 import:
32-41 us per call through the worker, 8-12 us inline (`@nonblocking`), 7-8 us
for a runtime-level HostFunction, in each of fuel, epoch and os mode.

A host function that neither returns nor waits on a host object within
`blocking_timeout` seconds is reported as a hang with its Python stack.
A Python exception from one ends the guest (a trap in the calling thread)
and is kept as `Outcome.host_exception` with its traceback in the report.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..hostapi import HostFunction
from ..outcome import Outcome, Status
from ..settings import Preempt, RunSettings
from ..wasmtime import hostcalls
from .api import ImportsSpec, UserImports
from .binding import ImportSpec, bind, check_results
from .call import CallContext
from .session import HostSession, failure_message
from .sync import GuestOwner, Touched, swap_context
from .thread import ThreadHost
from .worker import release_worker

if TYPE_CHECKING:
    from ..loading.program import Program
    from ..machine.execution import Execution
    from ..machine.threads import GuestThread

__all__ = ["HostRun"]

_run_keys = itertools.count(1)


class HostRun:
    """The user imports of one execution: checked specs, per-thread workers, the report additions."""

    def __init__(self, program: Program, imports: UserImports, settings: RunSettings) -> None:
        self.key = next(_run_keys)
        self.specs, self.passthrough = bind(program, imports)
        self.settings = settings
        self.serial = settings.preempt is not Preempt.OS
        self.deterministic = settings.preempt is Preempt.FUEL
        self.blocking_timeout = imports.blocking_timeout
        self.execution: Execution | None = None
        self.waker: Callable[[], None] = lambda: None
        self.threads: dict[int, ThreadHost] = {}
        self.touched: dict[int, Touched] = {}  # host objects its guest threads used, by id
        self.notes: list[str] = []
        self.snapshot: list[str] | None = None
        self._wall_deadline: float | None = None

    @classmethod
    def create(cls, program: Program, imports: ImportsSpec | None,
               settings: RunSettings) -> HostRun | None:
        spec = UserImports.of(imports)
        return None if spec is None else cls(program, spec, settings)

    def functions(self) -> list[HostFunction]:
        out = list(self.passthrough)
        for spec in self.specs:
            out.append(HostFunction(spec.module, spec.name, spec.params, spec.results, self._impl(spec),
                                    doc=(getattr(spec.fn, "__doc__", None) or "").strip()))
        return out

    def attach(self, ex: Execution) -> None:
        self.execution = ex
        self.waker = ex.poke
        if self.settings.timeout:
            self._wall_deadline = time.monotonic() + self.settings.timeout

    def thread_host(self, thread: GuestThread) -> ThreadHost:
        th = self.threads.get(thread.tid)
        if th is None or th.thread is not thread:
            th = self.threads[thread.tid] = ThreadHost(self, thread)
        return th

    def now_ns(self) -> int:
        """The execution's monotonic clock (virtual in fuel mode)."""
        ex = self.execution
        assert ex is not None
        return int(ex.clock.now_ns())

    def touch(self, obj: Touched) -> None:
        self.touched[id(obj)] = obj

    def wait_limit(self) -> tuple[float | None, str]:
        """How long the fiber side waits for a host function, and what it is then reported as."""
        limit, kind = self.blocking_timeout, "blocking"
        if self._wall_deadline is not None:
            left = max(0.0, self._wall_deadline - time.monotonic())
            if limit is None or left < limit:
                limit, kind = left, "wall"
        return limit, kind

    # -- the host function the runtime calls ---------------------------------------------------------

    def _impl(self, spec: ImportSpec) -> Callable[..., Any]:
        def impl(call: Any, *args: Any) -> Any:
            thread = call._thread
            th = self.thread_host(thread)
            if spec.inline:
                return self._run_inline(spec, th, thread, args)
            return HostSession(spec, th).start(args)

        impl.__name__ = f"user import {spec.label}"
        return impl

    def _run_inline(self, spec: ImportSpec, th: ThreadHost, thread: GuestThread, args: tuple[Any, ...]) -> Any:
        ctx = CallContext(th, spec.label, inline=True)
        prev = swap_context(ctx)
        try:
            value = spec.fn(*((ctx.call,) + args if spec.takes_call else args))
            return check_results(spec, value)
        except BaseException as exc:
            return hostcalls.trap_request(failure_message(thread, spec, exc))
        finally:
            ctx.live = False
            swap_context(prev)

    # -- the end ----------------------------------------------------------------------------------------

    def take_snapshot(self) -> None:
        """Remember the host objects' states before stopping threads releases anything (for the report)."""
        if self.snapshot is None:
            self.snapshot = [repr(obj) for obj in list(self.touched.values())]

    def close(self) -> None:
        """After the execution: stop what is left, release what its threads still hold, pool the workers."""
        for th in self.threads.values():
            for s in reversed(list(th.sessions)):
                s.shutdown()
            if th.worker is not None:
                release_worker(th.worker)
                th.worker = None
        mine = self.key
        for obj in list(self.touched.values()):
            self.notes += obj.drop_owners(lambda o: isinstance(o, GuestOwner) and o.execution == mine)

    def finish(self, outcome: Outcome) -> None:
        """Add the host side to the outcome's report."""
        lines: list[str] = []
        if outcome.status in (Status.DEADLOCK, Status.HANG) and self.snapshot:
            lines.append("host objects:")
            lines += [f"  {s}" for s in self.snapshot]
        lines += [f"note: {n}" for n in self.notes]
        if lines:
            outcome.report = outcome.report.rstrip("\n") + "\n" + "\n".join(lines)
