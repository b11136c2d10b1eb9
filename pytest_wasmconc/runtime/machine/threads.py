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
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import wasmtime

from ..lane import _lane
from ..wasmtime import calls, capi, epochs, failures, interrupts
from ..errors import ModuleError
from ..lane.futex import FutexWait
from ..hostapi import GiveUp, ValType, Wait, WaitResult, Yield
from .clock import READ_TICK_NS, SPIN_TICK_MAX_NS
from .exports import InstanceExports
from .memory import InstanceGuestMemory, NoMemory, SharedGuestMemory
from .reuse import KeptInstance

if TYPE_CHECKING:
    from .execution import Execution

__all__ = ["THREADS", "GuestThread", "ThreadState"]

# Every live guest thread by store key: host calls find their thread here.
THREADS: dict[int, GuestThread] = {}

FUEL_RESERVE = 1 << 62  # "unlimited": quanta are cut by the yield interval
_SPIN_SHIFT_MAX = (SPIN_TICK_MAX_NS // READ_TICK_NS).bit_length()
# What unwinds a call the execution's end left suspended (GuestThread._unwind_for_reuse): never in a report.
_UNWIND_MESSAGE = "wasmconc: unwound after the execution's end"


def _resource_failure(failure: failures.NativeFailure) -> bool:
    return failure.trap_code is None and failure.exit_status is None and not failure.frames


# The slot's wait_kind (the native step loop reads it, _lane_c/lane.h): 0 no wait, 1 a Yield (a
# scheduling point), 2 any other wait, 3 a GiveUp (sched_yield).
def _wait_kind(wait: Wait | None) -> int:
    if wait is None:
        return 0
    if isinstance(wait, Yield):
        return 3 if isinstance(wait, GiveUp) else 1
    return 2


class ThreadState(enum.Enum):
    NEW = "new"  # store not created yet
    RUNNABLE = "runnable"
    PARKED = "parked"
    FINISHED = "finished"


_STATES = (ThreadState.NEW, ThreadState.RUNNABLE, ThreadState.PARKED, ThreadState.FINISHED)  # by slot code
_STATE_CODES = {st.value: code for code, st in enumerate(_STATES)}


class Phase(enum.Enum):
    INSTANTIATING = "instantiating"
    RUNNING = "running"
    DONE = "done"


class GuestThread:
    """A guest thread and the native resources it owns."""

    def __init__(self, execution: Execution, tid: int, start_arg: int | None) -> None:
        self.execution = execution
        self.tid = tid
        # The native half (_lane_c/): what the hot path reads without Python.
        # Its address is the store key, so a native host call finds it at once.
        self.slot = _lane.Slot(tid=tid)
        self.key: int = self.slot.address
        self.start_arg = start_arg  # None for main
        self.phase = Phase.INSTANTIATING
        self.store: wasmtime.Store | None = None
        self._future: calls.CallFuture | None = None
        self._raw_instance: Any = None
        # The reset path (reuse.py): the kept instance this thread runs in, or the one it made,
        # once its call began (an instance whose instantiation failed is never kept).
        self._kept: Any = None
        # Its instance's exports (exports.py): kept with a kept instance, so looked up once per instance.
        self._exports: InstanceExports | None = None
        self._ready = False
        self.memory: Any = NoMemory()
        self._wait: Wait | None = None
        self.wake_result = WaitResult.READY
        self.deadline_ns: int | None = None
        self.waiter: Any = None  # futex.Waiter while parked on an address
        self._kill_message: str | None = None
        self.failure: failures.NativeFailure | None = None
        self.frames: list[str] = []
        self.ended_by: str | None = None
        self.call: Any = None  # the HostCall object host functions receive
        self._fuel_out = ctypes.c_uint64()
        # Counter mode (instrument/preempt.py): the slot holds the instance's
        # exported counter once instantiated, and what the quantum granted.
        self._counter_mode = execution.program.engine_settings.counter
        # Splices host frames (user host functions, their calls back into the
        # guest) into the wasm backtrace when it is captured (userhost/thread.py, ThreadHost.decorate).
        self.decorate_frames: Callable[[list[str]], list[str]] | None = None
        # Python host calls made so far, and the spin streak they give
        # (spin_tick): consecutive clock reads and yields with nothing else between.
        self.host_calls = 0
        # What this thread's visible plain accesses charge, when the driver set it (step mode, see
        # set_access_cost); None: what the instrumenter compiled in (or the policy's charges_accesses).
        self.access_cost: int | None = None
        self._spin_mark = -2
        self._spin_streak = 0
        # OS-thread mode: where this thread sleeps while parked (see `wakeup`).
        self._wakeup: threading.Condition | None = None

    @property
    def wakeup(self) -> threading.Condition:
        """Where this thread sleeps while parked in OS-thread mode, on the execution's lock. Made on first
        use (a serial execution never parks an OS thread, and a Condition per thread was a few percent of a
        short schedule); every use holds that lock (a Condition's wait and notify require it), so two
        threads never both make one."""
        wakeup = self._wakeup
        if wakeup is None:
            wakeup = self._wakeup = threading.Condition(self.execution.lock)
        return wakeup

    def settle(self) -> None:
        """The execution has applied this thread's end (caller holds the execution's lock)."""
        self.execution.unsettled.discard(self)

    def spin_tick(self) -> int:
        """How far a clock read or a yield of this thread moves virtual time, in ns.

        A thread that only polls the clock or yields (a busy-wait until a
        deadline, a `sched_yield` loop waiting for a sleeper) does no work of
        its own, but in fuel mode time moves only by the fuel threads use: its
        deadline, or the sleeper's, would come ~1000x slower than in real time.
        Each read or yield that directly follows another (no other host call
        of this thread between) doubles the step, up to SPIN_TICK_MAX_NS; any
        other host call starts over at READ_TICK_NS. Deterministic: it depends
        only on the thread's own calls.
        """
        calls = self.host_calls
        if calls - self._spin_mark <= 1:
            if self._spin_streak < _SPIN_SHIFT_MAX:
                self._spin_streak += 1
        else:
            self._spin_streak = 0
        self._spin_mark = calls
        return min(READ_TICK_NS << self._spin_streak, SPIN_TICK_MAX_NS)

    # -- state the native slot mirrors ----------------------------------------

    @property
    def state(self) -> ThreadState:
        # The slot's: the native futex wait parks a thread without Python.
        return _STATES[self.slot.state]

    @state.setter
    def state(self, value: ThreadState) -> None:
        slot = self.slot
        slot.state = _STATE_CODES[value._value_]  # by the plain value: an Enum's own hash is Python code
        if value is not ThreadState.PARKED:
            slot.blocked = 0

    @property
    def wait(self) -> Wait | None:
        """The wait in progress: set when a host call parks, cleared on resume."""
        wait = self._wait
        if wait is None and self.slot.native_wait:
            return self._native_wait()
        return wait

    @wait.setter
    def wait(self, value: Wait | None) -> None:
        self._wait = value
        self.slot.wait_kind = _wait_kind(value)

    @property
    def wait_kind(self) -> int:
        """What the wait in progress is, without building it (`_wait_kind`; the native futex's wait, whose
        `wait` would be made with its description each time, is another wait)."""
        wait = self._wait
        if wait is None:
            return 2 if self.slot.native_wait else 0
        return _wait_kind(wait)

    def _native_wait(self) -> FutexWait:
        """The wait the native futex (_lane_c/futex.c) parked this thread on, as Python's would be."""
        slot = self.slot
        width = slot.native_wait
        return FutexWait(ready=lambda: bool(slot.woken), timeout_ns=None,
                         describe=f"memory.atomic.wait{width * 8} @ {slot.futex_addr:#x} "
                                  f"(expected {slot.wait_expected})", waiter=slot)

    @property
    def future(self) -> calls.CallFuture | None:
        return self._future

    @future.setter
    def future(self, value: calls.CallFuture | None) -> None:
        self._future = value
        self.slot.future = value.native_address() if value is not None else 0

    @property
    def kill_message(self) -> str | None:
        """Set to make the next check (resume, scheduling point, epoch) trap, to end the
        thread and capture its backtrace."""
        return self._kill_message

    @kill_message.setter
    def kill_message(self, value: str | None) -> None:
        self._kill_message = value
        self.slot.set_kill(value)

    @property
    def yielded_at_scheduling_point(self) -> bool:
        """The last poll stopped at a scheduling point (not at the end of a quantum)."""
        return self.slot.yield_kind == _lane.YIELD_SCHED

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
        if ex.pool is not None:
            # The reset path's spare stores (reuse.py): a new instance in an old store (the
            # pool only keeps stores in serial fuel mode, which configures nothing else in them).
            spare = ex.pool.spare_store()
            if spare is not None:
                self.store = spare
                capi.set_store_key(spare._context(), self.key)
                return spare
        store = wasmtime.Store(ex.program.engine)
        self.store = store
        ctx = store._context()
        capi.set_store_key(ctx, self.key)
        settings = ex.program.engine_settings
        if settings.fuel:
            store.set_fuel(FUEL_RESERVE)
            capi.set_fuel_yield_interval(ctx, ex.settings.slice)
        if settings.epochs:
            epochs.install_epoch_callback(store, self.key)
        if ex.native_wasi is not None:
            ex.native_wasi.configure_store(store)
        return store

    def begin_instantiate(self) -> None:
        assert self.store is not None
        if self.execution.shared_guest_memory is not None:
            # The start function (e.g. wasm-ld's __wasm_init_memory) may already wait/notify.
            self.memory = self.execution.shared_guest_memory
        self.future, self._raw_instance = calls.instance_pre_instantiate_async(
            self.execution.instance_pre, self.store)
        self.state = ThreadState.RUNNABLE

    def start(self) -> None:
        """Create the store and begin instantiation (or reuse a kept instance: reuse.py)."""
        if self.execution.pool is not None and self.start_reused():
            return
        self.create_store()
        self.begin_instantiate()

    def start_reused(self) -> bool:
        """Run in a kept instance, reset: its start function runs as a call where a new instance
        runs it during instantiation (same code, same charges). False: none is idle."""
        pool = self.execution.pool
        assert pool is not None
        kept = pool.take(self.key)
        if kept is None:
            return False
        self._kept = kept
        self.store = kept.store
        self._raw_instance = kept.instance
        self._exports = kept.exports
        self.memory = self.execution.shared_guest_memory
        self.future = calls.call_raw_async(kept.store, kept.start, (), 0, context=kept.context)
        self.state = ThreadState.RUNNABLE
        return True

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
            epochs.set_epoch_deadline(self.store, 0)

    def begin_quantum(self, fuel: int, slice_end_ns: int | None = None) -> None:
        """Give the next poll exactly `fuel` units before it yields (fuel mode), or
        until `slice_end_ns`, checked each time `fuel` units are spent (epoch mode).

        In epoch mode the preempt check (native, _lane_c/host.c) refills the counter
        while the slice has time left, sized by how fast the last refill was
        spent: a thread looks at the clock a few times per slice whatever its
        instruction mix.
        """
        assert self.store is not None
        if self._counter_mode:
            self.slot.begin_quantum(fuel, -1 if slice_end_ns is None else slice_end_ns)
            return
        capi.begin_fuel_quantum(self.store._context(), fuel, FUEL_RESERVE)

    def fuel_used(self) -> int:
        """Fuel consumed since the last `begin_quantum` (fuel mode)."""
        if self.store is None:
            return 0
        if self._counter_mode:
            return int(self.slot.fuel_used())
        return FUEL_RESERVE - capi.fuel_remaining(self.store._context(), self._fuel_out)

    def poll(self) -> bool:
        """Poll the current future; True when the thread has finished for good."""
        fut = self.future
        assert fut is not None
        return self._after_poll(fut.poll())

    def settle_poll(self, finished: bool) -> bool:
        """`poll` for a poll the native lane made: its outcome, then the same bookkeeping."""
        fut = self.future
        assert fut is not None
        return self._after_poll(fut.settle(finished))

    def _after_poll(self, finished: bool) -> bool:
        if not finished:
            return False
        fut = self.future
        assert fut is not None
        if fut.failure is not None:
            failure = fut.failure
            if (self.phase is Phase.INSTANTIATING and _resource_failure(failure) and self.kill_message is None
                    and self.is_main):
                # Not the guest's doing (no trap, no wasm frame): the host could
                # not give it what its module declares, e.g. a huge memory. (A
                # worker that cannot be instantiated ends the run like a trap:
                # the guest was already told its thread exists.)
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
        self._ready = True
        self.memory = self._memory_view()
        kept = self._kept
        context = kept.context if kept is not None and kept.context else capi.store_context(self.store)
        exports = self._exports
        if exports is None:
            exports = self._exports = InstanceExports(self._raw_instance)
        if self._counter_mode:
            counter = exports.budget(context)
            if counter is not None:  # absent: the module defines no function
                self.slot.set_budget(context, counter)
                # Atomics that changed memory count as progress (instrument/progress.py).
                progress = exports.progress(context)
                if progress is not None:  # absent: no atomic read-modify-write
                    self.slot.set_progress(progress)
            charges = self.execution.charges_accesses
            if self.access_cost is not None:
                self._apply_access_cost()
            elif charges is not None and not charges(self.tid):
                exports.set_access_cost(context, 0)  # only at the shared level
        if self.is_main:
            func = exports.entry(context, b"_start")
            args: list[tuple[ValType, int | float]] = []
        else:
            func = exports.entry(context, b"wasi_thread_start")
            args = [(ValType.I32, self.tid), (ValType.I32, self.start_arg or 0)]
        if func is None:
            raise RuntimeError("entry point vanished after load-time checks")
        self.future = calls.call_raw_async(self.store, func, args, 0, context=context)

    def set_access_cost(self, cost: int) -> None:
        """Make this thread's visible plain accesses charge `cost` counter units (the shared level;
        applied when its call starts if it has not yet). The serial driver's step mode."""
        if cost == self.access_cost:
            return
        self.access_cost = cost
        if self.phase is Phase.RUNNING:
            self._apply_access_cost()

    def _apply_access_cost(self) -> None:
        assert self.store is not None and self.access_cost is not None and self._exports is not None
        self._exports.set_access_cost(capi.store_context(self.store), self.access_cost)  # only at the shared level

    def _memory_view(self) -> Any:
        ex = self.execution
        if ex.shared_memory is not None:
            return ex.shared_guest_memory
        assert self.store is not None
        mem = calls.instance_export(self.store, self._raw_instance, "memory")
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
            self._unwind_for_reuse()
            self.future.close()
            self.future = None
        if self.store is not None:
            store, self.store = self.store, None
            if not self._keep(store):
                store.close()
        self._kept = None
        self._exports = None
        self.memory = NoMemory()
        self._raw_instance = None
        self.slot.clear_budget()
        THREADS.pop(self.key, None)

    def _unwind_for_reuse(self) -> None:
        """The execution ended while this thread's call was suspended in a native continuation (a
        scheduling point or a futex wait): resume it once with a trap, so that the call completes and
        its instance can be kept (`_keep`). A pthread program's main exits right after its joins while
        the workers it joined still return from their thread entry: dropped in the middle of their
        call, their instances were lost, and a third of a PCT exploration's schedules instantiated
        anew. Nothing a report reads changes: the trap is the future's own, and no guest code runs
        (the continuation traps before returning to the guest)."""
        fut = self.future
        if (fut is None or fut.done or self.execution.pool is None or not self._ready
                or self.phase is not Phase.RUNNING or not self.slot.suspended or interrupts.INTERRUPTED[0]):
            return
        self.slot.set_kill(_UNWIND_MESSAGE)
        try:
            if fut.poll():
                self.phase = Phase.DONE
        finally:
            self.slot.set_kill(self._kill_message)

    def _keep(self, store: wasmtime.Store) -> bool:
        """Give the store and instance to the execution's pool: only when the thread's call ran and
        completed (a future dropped in the middle of a host call leaves a fiber behind)."""
        pool = self.execution.pool
        if pool is None or not self._ready or self.phase is not Phase.DONE:
            return False
        kept = self._kept
        if kept is None:
            kept = KeptInstance(store, self._raw_instance)
        kept.exports = self._exports
        return bool(pool.give(kept))

    # -- reports -----------------------------------------------------------

    def frame_texts(self, frames: list[failures.Frame]) -> list[str]:
        """Wasm frames as reports print them: the offsets of the file the user built, with source lines."""
        text = self.execution.program.frame_text
        return [text(f.func_name, f.func_index, f.module_offset) for f in frames]

    def capture_frames(self) -> None:
        if self.failure is not None and not self.frames:
            frames = self.frame_texts(self.failure.frames)
            self.frames = self.decorate_frames(frames) if self.decorate_frames is not None else frames
