"""Host calls from a guest thread to their implementation, and the epoch decision of every store.

One process-wide dispatcher (`ROUTER`) serves every linker: the native
trampoline hands it the calling store's key, which finds the guest thread
(`THREADS`), its execution and the host function the execution bound to that
import. Blocking host functions (generators yielding `Wait`s, hostapi.py)
park the thread through `Execution.begin_wait`. One linker per program
(`program_linker`) is shared by all its executions, which only add their
own memory. The epoch callback asks `_epoch_decision` at each deadline.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import wasmtime

from ..hostapi import GuestExit, GuestTrap, MemoryFault, Wait
from ..lane import _lane
from ..loading.program import WASI_P1, Program
from ..settings import Preempt
from ..wasmtime import epochs, hostcalls
from .builtins import NATIVE_FIRST, NATIVE_ONLY, NATIVE_UNCHECKED
from .ends import EXIT_MARK, TRACED_ENDS
from .threads import THREADS

if TYPE_CHECKING:
    from .threads import GuestThread

__all__ = ["ROUTER", "ThreadCall", "program_linker"]


class ThreadCall:
    """The HostCall a host function receives (one per guest thread, reused)."""

    __slots__ = ("_thread",)

    def __init__(self, thread: GuestThread) -> None:
        self._thread = thread

    @property
    def thread_id(self) -> int:
        return self._thread.tid

    @property
    def memory(self) -> Any:
        return self._thread.memory

    @property
    def deterministic(self) -> bool:
        return self._thread.execution.deterministic

    def monotonic_ns(self) -> int:
        t = self._thread
        return t.execution.clock.read_monotonic(t.spin_tick())

    def realtime_ns(self) -> int:
        t = self._thread
        return t.execution.clock.read_realtime(t.spin_tick())

    def random_bytes(self, n: int) -> bytes:
        return self._thread.execution.random_bytes(n)

    def poke(self) -> None:
        self._thread.execution.poke()

    def backtrace(self) -> list[str]:
        return []

    def emit(self, event: object) -> None:
        for observer in self._thread.execution.observers:
            observer.on_event(self, event)

    @property
    def execution_state(self) -> dict[Any, Any]:
        return self._thread.execution.host_state


class _Router:
    """The one HostDispatcher: from store key to thread to host function."""

    def invoke(self, store_key: int, binding: Any, args: list[int | float]) -> Any:
        thread = THREADS.get(store_key)
        if thread is None:
            return hostcalls.trap_request("wasmconc: host call from a store that is not a live guest thread")
        ex = thread.execution
        if thread.kill_message is not None:
            return hostcalls.trap_request(thread.kill_message)
        if ex.end is not None:
            return hostcalls.trap_request(EXIT_MARK)
        thread.host_calls += 1
        hf = ex.impls[binding.impl]
        try:
            return hf.impl(thread.call, *args)
        except GuestExit as stop:
            ex.request_exit(stop.code, thread)
            return hostcalls.trap_request(EXIT_MARK)
        except GuestTrap as trap:
            return hostcalls.trap_request(str(trap))
        except MemoryFault as fault:
            return hostcalls.trap_request(f"out of bounds memory access: {fault}")
        except Exception as exc:
            ex.host_failed(thread, hf, exc)
            return hostcalls.trap_request(f"host function {hf.module}.{hf.name} raised {type(exc).__name__}: {exc}")

    def arm_yield(self, store_key: int, trap_ret: int, continuation: int) -> None:
        """A YieldAfter call suspends once: the thread stays runnable, the scheduler decides.

        The native continuation traps instead of resuming if the thread is
        being stopped meanwhile (its slot carries the kill message).
        """
        thread = THREADS.get(store_key)
        if thread is not None:
            thread.slot.arm_yield(_lane.YIELD_SCHED, trap_ret, continuation)

    def resume(self, pending: Any) -> bool:
        if type(pending.gen) is not _GENERATOR:
            # A host call that steps itself (userhost.session.HostSession): it may be
            # inside a call back into the guest, whose own host calls park.
            return pending.gen.resume_pending(pending)  # type: ignore[no-any-return]
        thread = THREADS.get(pending.store_key)
        if thread is None:
            pending.write_trap("wasmconc: guest thread is gone")
            return True
        if thread.kill_message is not None:
            pending.write_trap(thread.kill_message)
            return True
        ex = thread.execution
        gen = pending.gen
        try:
            if thread.wait is not None:
                value, thread.wait = thread.wake_result, None
                wait = gen.send(value)
            else:
                wait = next(gen)
        except StopIteration as stop:
            try:
                pending.write_results(stop.value)
            except TypeError as exc:
                pending.write_trap(f"wasmconc: {exc}")
            return True
        except GuestExit as stop:
            ex.request_exit(stop.code, thread)
            pending.write_trap(EXIT_MARK)
            return True
        except GuestTrap as trap:
            pending.write_trap(str(trap))
            return True
        except MemoryFault as fault:
            pending.write_trap(f"out of bounds memory access: {fault}")
            return True
        except Exception as exc:
            hf = ex.impls[pending.binding.impl]
            ex.host_failed(thread, hf, exc)
            pending.write_trap(f"host function {hf.module}.{hf.name} raised {type(exc).__name__}: {exc}")
            return True
        if not isinstance(wait, Wait):
            pending.write_trap(f"wasmconc: host function yielded {wait!r}, not a Wait")
            return True
        ex.begin_wait(thread, wait)
        return False


ROUTER = _Router()
_GENERATOR: Any = type((lambda: (yield))())  # (Any: mypy must not narrow pending.gen by it)


_linker_lock = threading.Lock()


def program_linker(program: Program, *, native_wasi: bool = False) -> wasmtime.Linker:
    """A linker with one async host function per function import of `program`.

    Built once per program: each definition routes through ROUTER, which picks
    the implementation of the calling thread's execution, so executions share
    it and only add their own memory (see Execution.link).
    """
    with _linker_lock:
        cache = program.linkers
        linker = cache.get(native_wasi)
        if linker is not None:
            return linker
        linker = wasmtime.Linker(program.engine)
        defined: set[tuple[str, str]] = set()
        for imp in program.func_imports:
            if native_wasi and imp.module == WASI_P1:
                continue
            key = (imp.module, imp.name)
            # One definition per name: every import of it (a module may import one function
            # several times) binds to it, and a second define would be an error in wasmtime.
            if key in defined:
                continue
            defined.add(key)
            native = NATIVE_ONLY.get(key)
            if native is not None:
                hostcalls.define_native_host(linker, imp.module, imp.name, imp.params, native)
                continue
            unchecked = NATIVE_UNCHECKED.get(key)
            if unchecked is not None:
                hostcalls.define_unchecked_host(linker, imp.module, imp.name, imp.params, imp.results, unchecked, 0)
                continue
            hostcalls.define_async_host(linker, imp.module, imp.name, imp.params, imp.results, key, ROUTER,
                                   native=NATIVE_FIRST.get(key, 0))
        if native_wasi:
            linker.define_wasi()
        cache[native_wasi] = linker
        return linker


def _epoch_decision(key: int) -> tuple[int, int] | str:
    """Asked at every epoch deadline of every guest store (see epochs.install_epoch_callback)."""
    t = THREADS.get(key)
    if t is None:
        return (epochs.UPDATE_DEADLINE_CONTINUE, 1)
    if t.kill_message is not None:
        return t.kill_message
    ex = t.execution
    if ex.settings.preempt is Preempt.OS:
        # Threads run freely; the tick only lets a spinning thread notice the end.
        end = ex.end
        if end is not None:
            if end.status in TRACED_ENDS:
                # Stopped where it runs, with its backtrace (the driver's stop may come later).
                with ex.cond:
                    if t.ended_by is None:
                        t.ended_by = "running"
                    t.kill_message = f"wasmconc: stopped ({end.status.value})"
                return t.kill_message
            return EXIT_MARK
        return (epochs.UPDATE_DEADLINE_CONTINUE, 1)
    return (epochs.UPDATE_DEADLINE_YIELD, 1)  # epoch mode: the time slice is over


epochs.set_epoch_handler(_epoch_decision)
