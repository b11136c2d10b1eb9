"""One guest thread: a Store, an instance of the guest, and the call future running in it.

A guest thread goes through two futures: the instantiation (its start
function may already wait, e.g. wasm-ld's `__wasm_init_memory`) and then the
call of `_start` (main) or `wasi_thread_start(tid, arg)` (workers). Its
Store is owned by whichever OS thread drives it and is closed there, after
its future.
"""

from __future__ import annotations

import ctypes
import enum
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import wasmtime

from ..instrument.preempt import BUDGET_EXPORT
from . import capi
from .errors import ModuleError
from .hostapi import ValType, Wait, WaitResult
from .memory import InstanceGuestMemory, NoMemory, SharedGuestMemory

if TYPE_CHECKING:
    from .execution import Execution

__all__ = ["THREADS", "GuestThread", "ThreadState"]

# Every live guest thread by store key: host calls find their thread here.
THREADS: dict[int, GuestThread] = {}

FUEL_RESERVE = 1 << 62  # "unlimited": quanta are cut by the yield interval
# Epoch mode's counter refills: at least this many units between two looks at
# the clock, and at most this many (a guest whose speed changes abruptly still
# looks again soon).
_MIN_REFILL = 1_000
_MAX_REFILL = 1 << 32


def _resource_failure(failure: capi.NativeFailure) -> bool:
    return failure.trap_code is None and failure.exit_status is None and not failure.frames


class ThreadState(enum.Enum):
    NEW = "new"  # store not created yet
    RUNNABLE = "runnable"
    PARKED = "parked"
    FINISHED = "finished"


class Phase(enum.Enum):
    INSTANTIATING = "instantiating"
    RUNNING = "running"
    DONE = "done"


class GuestThread:
    """A guest thread and the native resources it owns."""

    def __init__(self, execution: Execution, tid: int, key: int, start_arg: int | None) -> None:
        self.execution = execution
        self.tid = tid
        self.key = key
        self.start_arg = start_arg  # None for main
        self.state = ThreadState.NEW
        self.phase = Phase.INSTANTIATING
        self.store: wasmtime.Store | None = None
        self.future: capi.CallFuture | None = None
        self._raw_instance: Any = None
        self.memory: Any = NoMemory()
        # The wait in progress: set when a host call parks, cleared on resume.
        self.wait: Wait | None = None
        self.wake_result = WaitResult.READY
        self.deadline_ns: int | None = None
        self.waiter: Any = None  # futex.Waiter while parked on an address
        # Set to make the next resume (or epoch check) trap, to end the
        # thread and capture its backtrace.
        self.kill_message: str | None = None
        self.failure: capi.NativeFailure | None = None
        self.frames: list[str] = []
        self.ended_by: str | None = None
        self.call: Any = None  # the HostCall object host functions receive
        self._fuel_out = ctypes.c_uint64()
        # Counter mode (instrument/preempt.py): the instance's exported
        # counter, once instantiated, and what the current quantum granted.
        self._counter_mode = execution.program.engine_settings.counter
        self._budget: capi.I64Global | None = None
        self._granted = 0
        # Set by the `wasmconc.preempt` import: this yield ends a quantum (not a scheduling point).
        self.preempting = False
        # Epoch mode: when the current time slice ends, and when the counter
        # was last filled (time.monotonic_ns).
        self.slice_end_ns: int | None = None
        self._filled_ns = 0
        # Splices host frames (user host functions, their calls back into the
        # guest) into the wasm backtrace when it is captured (userimports.py).
        self.decorate_frames: Callable[[list[str]], list[str]] | None = None

    @property
    def is_main(self) -> bool:
        return self.start_arg is None

    @property
    def label(self) -> str:
        return "thread 0 (main)" if self.is_main else f"thread {self.tid}"

    # -- lifecycle -------------------------------------------------------

    def create_store(self) -> wasmtime.Store:
        """Create this thread's store (on the OS thread that will own it)."""
        ex = self.execution
        store = wasmtime.Store(ex.program.engine)
        self.store = store
        ctx = store._context()
        capi.set_store_key(ctx, self.key)
        settings = ex.program.engine_settings
        if settings.fuel:
            store.set_fuel(FUEL_RESERVE)
            capi.set_fuel_yield_interval(ctx, ex.settings.slice)
        if settings.epochs:
            capi.install_epoch_callback(store, self.key)
        if ex.native_wasi is not None:
            ex.native_wasi.configure_store(store)
        return store

    def begin_instantiate(self) -> None:
        assert self.store is not None
        if self.execution.shared_guest_memory is not None:
            # The start function (e.g. wasm-ld's __wasm_init_memory) may already wait/notify.
            self.memory = self.execution.shared_guest_memory
        self.future, self._raw_instance = capi.instance_pre_instantiate_async(
            self.execution.instance_pre, self.store)
        self.state = ThreadState.RUNNABLE

    def start(self) -> None:
        """Create the store and begin instantiation."""
        self.create_store()
        self.begin_instantiate()

    def stop_for_report(self, reason: str) -> None:
        """End this thread at its next check so its future finishes with a backtrace."""
        self.kill_message = f"wasmconc: stopped ({reason})"
        if self.store is None:
            return
        settings = self.execution.program.engine_settings
        if settings.fuel:
            capi.set_fuel_yield_interval(self.store._context(), None)
            self.store.set_fuel(0)
        if settings.epochs:
            capi.set_epoch_deadline(self.store, 0)

    def begin_quantum(self, fuel: int, slice_end_ns: int | None = None) -> None:
        """Give the next poll exactly `fuel` units before it yields (fuel mode), or
        until `slice_end_ns`, checked each time `fuel` units are spent (epoch mode)."""
        assert self.store is not None
        self.slice_end_ns = slice_end_ns
        if slice_end_ns is not None:
            self._filled_ns = time.monotonic_ns()
        if self._counter_mode:
            budget = self._budget
            if budget is not None:  # before instantiation ends, the start function uses the initial budget
                budget.set(fuel)
                self._granted = fuel
            return
        capi.begin_fuel_quantum(self.store._context(), fuel, FUEL_RESERVE)

    def extend_quantum(self, now_ns: int) -> bool:
        """Epoch mode, inside the thread's own preempt call with time left in its
        slice: refill the counter for about the time that is left. False if it cannot.

        The refill is sized by how fast the last one was spent, so a thread
        looks at the clock a few times per slice whatever its instruction mix
        (each look is a host call: looking every few microseconds would cost
        more than the checks themselves).
        """
        budget = self._budget
        if budget is None or self.slice_end_ns is None:
            return False
        spent_ns = max(1, now_ns - self._filled_ns)
        left_ns = self.slice_end_ns - now_ns
        refill = min(max(self._granted * left_ns // spent_ns, _MIN_REFILL), _MAX_REFILL)
        self._granted = refill
        self._filled_ns = now_ns
        budget.set(refill)
        return True

    def fuel_used(self) -> int:
        """Fuel consumed since the last `begin_quantum` (fuel mode)."""
        if self.store is None:
            return 0
        if self._counter_mode:
            budget = self._budget
            return 0 if budget is None else self._granted - budget.get()
        return FUEL_RESERVE - capi.fuel_remaining(self.store._context(), self._fuel_out)

    def poll(self) -> bool:
        """Poll the current future; True when the thread has finished for good."""
        fut = self.future
        assert fut is not None
        if not fut.poll():
            return False
        if fut.failure is not None:
            failure = fut.failure
            if self.phase is Phase.INSTANTIATING and _resource_failure(failure) and self.kill_message is None:
                # Not the guest's doing (no trap, no wasm frame): the host could
                # not give it what its module declares, e.g. a huge memory.
                name = self.execution.program.name
                first = failure.message.strip().splitlines()[0] if failure.message.strip() else "unknown error"
                raise ModuleError(f"{name}: cannot instantiate: {first}")
            self.failure = failure
            self._finish()
            return True
        if self.phase is Phase.INSTANTIATING:
            self._begin_call()
            return False
        self._finish()
        return True

    def _begin_call(self) -> None:
        assert self.store is not None and self.future is not None
        self.future.close()
        self.phase = Phase.RUNNING
        self.memory = self._memory_view()
        if self._counter_mode:
            counter = capi.instance_export(self.store, self._raw_instance, BUDGET_EXPORT)
            if isinstance(counter, wasmtime.Global):  # absent: the module defines no function
                self._budget = capi.I64Global(counter, capi.store_context(self.store))
                self._granted = self._budget.get()  # nothing used yet
        if self.is_main:
            func = capi.instance_export(self.store, self._raw_instance, "_start")
            args: list[tuple[ValType, int | float]] = []
        else:
            func = capi.instance_export(self.store, self._raw_instance, "wasi_thread_start")
            args = [(ValType.I32, self.tid), (ValType.I32, self.start_arg or 0)]
        if not isinstance(func, wasmtime.Func):
            raise RuntimeError("entry point vanished after load-time checks")
        self.future = capi.func_call_async(self.store, func, args, 0)

    def _memory_view(self) -> Any:
        ex = self.execution
        if ex.shared_memory is not None:
            return ex.shared_guest_memory
        assert self.store is not None
        mem = capi.instance_export(self.store, self._raw_instance, "memory")
        if isinstance(mem, wasmtime.Memory):
            assert self.store is not None
            return InstanceGuestMemory(self.store, mem)
        if isinstance(mem, wasmtime.SharedMemory):
            return SharedGuestMemory(mem)
        return NoMemory()

    def _finish(self) -> None:
        self.phase = Phase.DONE
        self.state = ThreadState.FINISHED

    def close(self) -> None:
        """Release the future, then the store (idempotent; on the owning OS thread)."""
        if self.future is not None:
            self.future.close()
            self.future = None
        if self.store is not None:
            store, self.store = self.store, None
            store.close()
        self.memory = NoMemory()
        self._raw_instance = None
        self._budget = None
        THREADS.pop(self.key, None)

    # -- reports -----------------------------------------------------------

    def capture_frames(self) -> None:
        if self.failure is not None and not self.frames:
            frames = [str(f) for f in self.failure.frames]
            self.frames = self.decorate_frames(frames) if self.decorate_frames is not None else frames
