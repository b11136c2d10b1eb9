"""Host workers: the helper thread on which a guest thread's user host functions run.

A user host function is a plain Python callable; when it waits on a host
lock it calls a blocking method, which cannot suspend by itself. So it runs
on a helper thread (one per guest thread, reused across calls and
executions) while the guest thread's side of the call (the "fiber side", the
thread polling the guest's call future) waits for it. The two strictly
alternate, so the guest's store is never used by two threads at once:

    fiber side                              worker
    RunCall(fn, args)          ------>      runs fn ...
                               <------      Park(until) | Yield | Export(name, args)
    (the guest thread parks;               (blocked in request())
     the scheduler runs others)
    Reply(value)               ------>      ... fn continues
                               <------      Done(value) | Raised(exc)

`request()` also serves nested host calls: a host function that calls back
into the guest (Export) may make the guest call another host function; that
one runs on the same worker, on top of the first one's stack, exactly like
the real call chain. `Abort` unwinds the innermost call with
`HostCallAborted` (the guest is ending); a worker that does not come back
in time is abandoned (never reused).

Handoffs are `_thread` locks used as binary semaphores: the waiting side
sleeps in the kernel, so no Python thread is ever busy beside the scheduler.
A round trip costs about 25 us (two OS thread wake-ups).
"""

from __future__ import annotations

import ctypes
import linecache
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .sync.context import swap_context

__all__ = [
    "ABORTED",
    "TIMEOUT",
    "YIELD",
    "Done",
    "Export",
    "HostCallAborted",
    "HostWorker",
    "Park",
    "Raised",
    "Reply",
    "RunCall",
    "acquire_worker",
    "release_worker",
]


class HostCallAborted(BaseException):
    """Raised inside a host function whose guest execution is ending (a BaseException: let it unwind)."""


# -- messages ---------------------------------------------------------------------------


@dataclass
class RunCall:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    context: Any  # the sync.WaitContext for the call (call.CallContext)


@dataclass
class Done:
    value: Any


@dataclass
class Raised:
    exc: BaseException


@dataclass
class Park:
    wait: Any  # a hostapi.Wait


@dataclass
class Export:
    name: str
    args: tuple[Any, ...]


@dataclass
class Reply:
    value: Any


class _Token:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ABORTED = _Token("ABORTED")  # worker -> fiber: the call unwound after an Abort
YIELD = _Token("YIELD")  # worker -> fiber: a scheduling point
TIMEOUT = _Token("TIMEOUT")  # receive() gave up waiting
_ABORT = _Token("ABORT")  # fiber -> worker
_STOP = _Token("STOP")  # fiber -> idle worker


class _Mailbox:
    """One slot and a binary semaphore; strictly one put per get."""

    __slots__ = ("_item", "_sem")

    def __init__(self) -> None:
        self._sem = threading.Lock()
        self._sem.acquire()
        self._item: Any = None

    def put(self, item: Any) -> None:
        self._item = item
        try:
            self._sem.release()
        except RuntimeError:  # already full: only when a worker was abandoned mid-exchange
            pass

    def get(self, timeout: float | None = None) -> Any:
        if not self._sem.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
            return TIMEOUT
        item, self._item = self._item, None
        return item


# Frames of this folder (the worker, the sync objects, GuestCall) are not the user's: a
# report shows the host function's own frames only.
_INTERNAL_DIR = os.path.normcase(os.path.dirname(os.path.abspath(__file__))) + os.sep


class HostWorker:
    """A daemon thread running one guest thread's host functions (see module doc)."""

    def __init__(self, name: str) -> None:
        self._in = _Mailbox()  # fiber -> worker
        self._out = _Mailbox()  # worker -> fiber
        self.abandoned = False
        self.depth = 0  # host calls in progress on this worker (nested ones stack up)
        self._unwinding = False  # an Abort is unwinding the innermost call
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.thread.start()

    # -- the fiber side ----------------------------------------------------------

    def send(self, msg: Any) -> None:
        """Hand the worker its next message (RunCall, Reply)."""
        self._in.put(msg)

    def receive(self, timeout: float | None) -> Any:
        """The worker's next message, or TIMEOUT."""
        return self._out.get(timeout)

    def abort(self, grace: float) -> bool:
        """Unwind the innermost call (blocked in request()); False if it did not come back in `grace` s."""
        self._in.put(_ABORT)
        while True:
            msg = self._out.get(grace)
            if msg is TIMEOUT:
                self.abandon()
                return False
            if isinstance(msg, (Done, Raised)) or msg is ABORTED:
                return True
            # The unwinding code asked for more (a scheduling point, a park): refuse it.
            self._in.put(_ABORT)

    def abandon(self) -> None:
        """Give up on this worker: it is stuck in code we do not control. It exits when it returns.

        It also gets HostCallAborted at its next Python bytecode, so a host function
        spinning in Python stops instead of competing for the GIL with the scheduler.
        """
        self.abandoned = True
        self._in.put(_STOP)
        ident = self.thread.ident
        if ident is not None and self.thread.is_alive():
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(HostCallAborted))

    def stop(self) -> None:
        if not self.abandoned:
            self.abandoned = True
            self._in.put(_STOP)

    # -- the worker side -------------------------------------------------------------

    def _main(self) -> None:
        while True:
            msg = self._in.get()
            if msg is _STOP or self.abandoned:
                return
            if isinstance(msg, RunCall):
                self._out.put(self._run(msg))
            # anything else reached an idle worker late (an Abort racing a Done): ignore it

    def _run(self, job: RunCall) -> Any:
        prev = swap_context(job.context)
        self.depth += 1
        try:
            return Done(job.fn(*job.args))
        except HostCallAborted:
            return ABORTED
        except BaseException as exc:  # the fiber side decides what each means
            tb = exc.__traceback__
            if tb is not None and tb.tb_frame.f_code is HostWorker._run.__code__:
                exc.__traceback__ = tb.tb_next  # the user's traceback starts in the user's function
            return Raised(exc)
        finally:
            self.depth -= 1
            self._unwinding = False
            swap_context(prev)

    def request(self, msg: Any) -> Any:
        """From inside a host function: ask the fiber side (Park, YIELD, Export); returns its Reply value."""
        if self._unwinding or self.abandoned:
            if msg is YIELD:
                return None  # no scheduling while unwinding
            raise HostCallAborted()
        self._out.put(msg)
        while True:
            reply = self._in.get()
            if isinstance(reply, RunCall):  # a nested host call (the guest was called back)
                self._out.put(self._run(reply))
                continue
            if reply is _ABORT or reply is _STOP:
                self._unwinding = True
                raise HostCallAborted()
            if isinstance(reply, Reply):
                return reply.value
            raise RuntimeError(f"wasmconc: host worker got {reply!r}")

    # -- reports ------------------------------------------------------------------------

    def python_stack(self) -> list[list[str]]:
        """The worker's current Python stack: one list of user frames per host call level, outermost first."""
        frame = sys._current_frames().get(self.thread.ident or -1)
        frames = []
        while frame is not None:
            frames.append(frame)
            frame = frame.f_back
        frames.reverse()
        levels: list[list[str]] = []
        run_code = HostWorker._run.__code__
        for fr in frames:
            if fr.f_code is run_code:
                levels.append([])
                continue
            if not levels:
                continue
            if os.path.normcase(os.path.abspath(fr.f_code.co_filename)).startswith(_INTERNAL_DIR):
                continue
            levels[-1].append(format_frame(fr.f_code.co_filename, fr.f_lineno, fr.f_code.co_name))
        return levels


def format_frame(filename: str, lineno: int, name: str) -> str:
    """One Python frame as a report line: `python NAME (FILE:LINE): SOURCE`."""
    try:
        shown = os.path.relpath(filename)
        if shown.startswith(".." + os.sep + ".."):
            shown = filename
    except ValueError:
        shown = filename
    src = linecache.getline(filename, lineno).strip()
    return f"python {name} ({shown}:{lineno})" + (f": {src}" if src else "")


# -- a pool, so that explorations do not start threads for every schedule ---------------------------

_pool: list[HostWorker] = []
_pool_lock = threading.Lock()
_POOL_MAX = 32


def acquire_worker(name: str) -> HostWorker:
    with _pool_lock:
        w = _pool.pop() if _pool else None
    if w is None:
        return HostWorker(name)
    w.thread.name = name
    return w


def release_worker(w: HostWorker) -> None:
    """Return an idle worker to the pool (a busy or abandoned one is stopped/forgotten)."""
    if w.abandoned:
        return
    if w.depth:
        w.abandon()
        return
    with _pool_lock:
        if len(_pool) < _POOL_MAX:
            w.thread.name = "wasmconc-host-idle"
            _pool.append(w)
            return
    w.stop()
