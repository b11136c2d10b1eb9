"""The fiber side of one user host call: a state machine the guest thread's host call future steps.

The callable runs on the guest thread's worker (worker.py); this side,
polled like any pending async host call, acts on what the worker asks:

    running  --Park/Yield-->  parked   --woken-->             running
    running  --Export------>  nested   --callback returned--> running
    running  --Done/Raised-------------------------------->   over (results or a trap)
    running  --no answer within the blocking timeout------>   abandoned (reported as a hang)

When the guest ends or the thread is stopped for a report, the call is
unwound (`HostCallAborted` inside the function) and traps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..hostapi import GuestExit, GuestTrap, HostFunction, MemoryFault, ValType, Yield
from ..machine.ends import EXIT_MARK, trap_reason
from ..machine.threads import THREADS
from ..report import hang_message
from ..outcome import Status
from ..wasmtime import calls, hostcalls
from .binding import RANGE, ImportSpec, check_results, types_text
from .call import CallContext
from .sync import Lock, RLock
from .thread import Level, ThreadHost
from .worker import ABORTED, TIMEOUT, YIELD, Done, Export, HostCallAborted, Park, Raised, Reply, RunCall

if TYPE_CHECKING:
    from ..machine.threads import GuestThread

__all__ = ["HostSession", "failure_message"]

_ABORT_GRACE_S = 2.0  # how long an aborted host function may take to unwind
_POLL_S = 0.1  # the fiber side re-checks for a kill this often while a host function runs


def failure_message(thread: GuestThread, spec: ImportSpec, exc: BaseException) -> str:
    """Apply what an exception out of a host function means; return the trap message for the caller."""
    ex = thread.execution
    if isinstance(exc, GuestExit):
        ex.request_exit(exc.code, thread)
        return EXIT_MARK
    if isinstance(exc, HostCallAborted):
        return thread.kill_message or EXIT_MARK
    if isinstance(exc, GuestTrap):
        return str(exc)
    if isinstance(exc, MemoryFault):
        return f"out of bounds memory access: {exc}"
    hf = HostFunction(spec.module, spec.name, spec.params, spec.results, spec.fn)
    ex.host_failed(thread, hf, exc)
    return f"host function {spec.label} raised {type(exc).__name__}: {exc}"


_RUNNING, _PARKED, _NESTED, _ABANDONED, _OVER = "running", "parked", "nested", "abandoned", "over"


class HostSession:
    """One user host call in flight, driven from the guest thread's side (see worker.py).

    To the native layer it is the "generator" of a pending async host call;
    the router hands each continuation poll to `resume_pending` (it steps
    itself instead of yielding Waits, because a call back into the guest
    parks and resumes through the nested call's own host calls).
    """

    def __init__(self, spec: ImportSpec, th: ThreadHost) -> None:
        self.run = th.run
        self.spec = spec
        self.th = th
        self.thread: GuestThread = th.thread
        self.worker = th.get_worker()
        self.ctx = CallContext(th, spec.label, inline=False)
        self.state = _RUNNING
        self.msg: Any = None
        self.nested: calls.CallFuture | None = None
        self.nested_results: tuple[ValType, ...] = ()

    # The Generator protocol the native layer expects (only close() is used).
    def send(self, value: Any) -> Any:
        raise StopIteration

    def throw(self, *exc: Any) -> Any:
        raise StopIteration

    def close(self) -> None:
        """The guest's future was deleted with this call pending (the guest is ending)."""
        self.shutdown()

    def __iter__(self) -> HostSession:
        return self

    def __next__(self) -> Any:
        raise StopIteration

    # -- start (inside the host callback) ----------------------------------------------------------

    def start(self, args: tuple[Any, ...]) -> Any:
        """Run the function; return its results, a trap request, or self (it waits or calls back)."""
        spec = self.spec
        call_args = (self.ctx.call,) + args if spec.takes_call else args
        self.th.sessions.append(self)
        self.worker.send(RunCall(spec.fn, call_args, self.ctx))
        msg = self._receive()
        if isinstance(msg, (Done, Raised)) or msg is ABORTED:
            kind, value = self._settle(msg)  # type: ignore[misc]
            self._over()
            return value if kind == "results" else hostcalls.trap_request(value)
        if msg is TIMEOUT:
            return self  # abandoned: the thread is stopped at its next poll
        # It waits or calls back: the continuation (polled right after this
        # callback returns) acts on it, so that a wait begins where the
        # driver expects waits to begin.
        self.msg = msg
        return self

    # -- each poll of the continuation ---------------------------------------------------------------

    def resume_pending(self, pending: Any) -> bool:
        thread = self.thread
        if THREADS.get(pending.store_key) is not thread:
            pending.write_trap("wasmconc: guest thread is gone")
            self.shutdown()
            return True
        ex = thread.execution
        while True:
            stopping = thread.kill_message is not None or ex.end is not None
            if self.state is _NESTED:
                fut = self.nested
                assert fut is not None
                if not fut.poll():
                    return False  # the callback was preempted or parked (its own host call set the wait)
                self.nested = None
                failure = fut.failure
                values = None if failure is not None else fut.result_values()
                fut.close()
                stopping = thread.kill_message is not None or ex.end is not None
                if stopping:
                    frames = thread.frame_texts(failure.frames) if failure is not None else None
                    return self._stop(pending, nested_frames=frames)
                if failure is not None:
                    reply: Any = ("trap", (trap_reason(failure.message), thread.frame_texts(failure.frames)))
                else:
                    reply = ("ok", _export_value(values or [], self.nested_results))
                self.state = _RUNNING
                self.worker.send(Reply(reply))
                msg = self._receive()
            elif self.state is _PARKED:
                if stopping:
                    return self._stop(pending)
                value, thread.wait = thread.wake_result, None
                self.state = _RUNNING
                self.worker.send(Reply(value))
                msg = self._receive()
            elif self.state is _ABANDONED:
                if thread.kill_message is not None:
                    return self._stop(pending)
                return False  # the hang is declared; the driver stops this thread next (for its backtrace)
            elif self.msg is not None:
                msg, self.msg = self.msg, None
            else:
                pending.write_trap("wasmconc: internal error: host call resumed after it ended")
                return True
            outcome = self._settle(msg)
            if outcome is not None:
                kind, value = outcome
                self._over()
                if kind == "results":
                    try:
                        pending.write_results(value)
                    except TypeError as exc:
                        pending.write_trap(failure_message(thread, self.spec, exc))
                else:
                    pending.write_trap(value)
                return True
            if self.state is _NESTED:
                continue  # poll the callback right away
            return False

    # -- helpers --------------------------------------------------------------------------------------

    def _receive(self) -> Any:
        """The worker's next message; TIMEOUT when the watchdog (or a kill) gives up on it."""
        limit, kind = self.run.wait_limit()
        waited = 0.0
        t = self.thread
        while True:
            step = _POLL_S if limit is None else min(_POLL_S, max(0.0, limit - waited))
            msg = self.worker.receive(step)
            if msg is not TIMEOUT:
                return msg
            waited += step
            if limit is not None and waited >= limit:
                self._watchdog(waited, kind)
                return TIMEOUT
            if t.kill_message is not None and waited >= 1.0:
                self._watchdog(waited, "killed")
                return TIMEOUT

    def _watchdog(self, waited: float, kind: str) -> None:
        stack = self.worker.python_stack()
        python = stack[len(self.th.sessions) - 1] if len(stack) >= len(self.th.sessions) else \
            (stack[-1] if stack else [])
        ex = self.thread.execution
        label = self.spec.label
        if kind == "wall":
            message = hang_message("timeout", self.run.settings.timeout) + \
                f" (in host function {label}, which has not returned)"
        elif kind == "killed":
            message = f"host function {label} did not return when the guest was stopped"
        else:
            message = (f"host function {label} has run for {waited:g} s without returning or waiting on a "
                       "host object: it may be blocked on something the scheduler cannot see "
                       "(a threading lock, I/O, time.sleep); use pytest_wasmconc.host objects instead")
        if kind != "killed":
            self.run.take_snapshot()
            ex.declare(Status.HANG, message, limit="timeout" if kind == "wall" else None)
        with self.th.mem_lock:
            self.ctx.live = False
        self.worker.abandon()
        self.th.levels.append(Level(f"[host function {label}] (running, not returning)", python, None))
        self.thread.decorate_frames = self.th.decorate
        self.state = _ABANDONED

    def _settle(self, msg: Any) -> tuple[str, Any] | None:
        """Act on a worker message: ("results", v) / ("trap", message) when the call is over, else None."""
        thread = self.thread
        ex = thread.execution
        if msg is TIMEOUT:
            return None  # _ABANDONED: resume_pending returns False until the thread is stopped
        if isinstance(msg, Done):
            try:
                return "results", check_results(self.spec, msg.value)
            except TypeError as exc:
                return "trap", failure_message(thread, self.spec, exc)
        if isinstance(msg, Raised):
            return "trap", failure_message(thread, self.spec, msg.exc)
        if msg is ABORTED:
            return "trap", thread.kill_message or EXIT_MARK
        if isinstance(msg, Park):
            ex.begin_wait(thread, msg.wait)
            self.state = _PARKED
            return None
        if msg is YIELD:
            ex.begin_wait(thread, Yield())
            self.state = _PARKED
            return None
        if isinstance(msg, Export):
            problem = self._start_export(msg)
            if problem is not None:
                self.worker.send(Reply(("error", problem)))
                return self._settle(self._receive())
            self.state = _NESTED
            return None
        return "trap", f"wasmconc: internal error: host worker sent {msg!r}"

    def _start_export(self, req: Export) -> str | None:
        found = self.th.export(req.name)
        if isinstance(found, str):
            return f"host function {self.spec.label}: {found}"
        func, params, results = found
        if len(req.args) != len(params):
            return (f"host function {self.spec.label}: export {req.name} takes ({types_text(params)}) "
                    f"-> ({types_text(results)}), called with {len(req.args)} argument"
                    f"{'s' if len(req.args) != 1 else ''}")
        typed: list[tuple[ValType, int | float]] = []
        for v, t in zip(req.args, params):
            if t in RANGE:
                if isinstance(v, bool) or not isinstance(v, int):
                    return f"host function {self.spec.label}: export {req.name}: {v!r} is not an int for {t.value}"
                lo, hi = RANGE[t]
                if not lo <= v <= hi:
                    return f"host function {self.spec.label}: export {req.name}: {v} is out of range for {t.value}"
            elif not isinstance(v, (int, float)) or isinstance(v, bool):
                return f"host function {self.spec.label}: export {req.name}: {v!r} is not a number for {t.value}"
            typed.append((t, v))
        store = self.thread.store
        assert store is not None
        self.nested = calls.func_call_async(store, func, typed, len(results))
        self.nested_results = results
        return None

    def _stop(self, pending: Any, nested_frames: list[str] | None = None) -> bool:
        """The guest thread is being stopped (a report) or the guest ended: unwind this call, trap."""
        thread = self.thread
        if thread.kill_message is not None:
            self.run.take_snapshot()
            if self.state is not _ABANDONED:
                levels = self.worker.python_stack()
                depth = self._depth()
                python = levels[depth] if depth < len(levels) else []
                self.th.levels.append(Level(self._header(), python, nested_frames))
                thread.decorate_frames = self.th.decorate
        self._unwind()
        pending.write_trap(thread.kill_message or EXIT_MARK)
        return True

    def _depth(self) -> int:
        try:
            return self.th.sessions.index(self)
        except ValueError:
            return 0

    def _header(self) -> str:
        mine = self.th.owner
        held = [obj.label for obj in list(self.ctx.acquired.values())
                if isinstance(obj, (Lock, RLock)) and obj.owner == mine]  # (semaphores have no holder)
        what = f" (holds {', '.join(held)})" if held else ""
        return f"[host function {self.spec.label}]{what}"

    def _unwind(self) -> None:
        """Stop the worker's part of this call (idempotent)."""
        if self.state in (_OVER,):
            return
        if self.nested is not None:
            fut, self.nested = self.nested, None
            fut.close()  # runs the finalizers of host calls pending inside the callback first
        if self.state in (_PARKED, _NESTED):
            with self.th.mem_lock:
                self.ctx.live = False
            self.worker.abort(_ABORT_GRACE_S)
        self._over()

    def shutdown(self) -> None:
        self._unwind()

    def _over(self) -> None:
        self.state = _OVER
        self.ctx.live = False
        try:
            self.th.sessions.remove(self)
        except ValueError:
            pass


def _export_value(values: list[int | float], results: tuple[ValType, ...]) -> Any:
    out: list[int | float] = []
    for v, t in zip(values, results):
        if t is ValType.I32:
            out.append(int(v) & 0xFFFF_FFFF if int(v) < 0 else int(v))
        elif t is ValType.I64:
            out.append(int(v) & 0xFFFF_FFFF_FFFF_FFFF if int(v) < 0 else int(v))
        else:
            out.append(v)
    if not out:
        return None
    return out[0] if len(out) == 1 else tuple(out)
