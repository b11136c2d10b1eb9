"""One execution of a guest: its threads, shared memory, host calls and end.

The execution owns the wasi-threads semantics: `thread-spawn` makes a new
guest thread on the same shared memory; `proc_exit` from any thread, a trap
in any thread, or main returning ends the whole guest. It also routes every
host call: one process-wide dispatcher finds the calling thread from its
store key and runs the host function; blocking host functions park the thread
(see hostapi.py). Drivers (serial.py, os_threads.py) decide who runs when.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import traceback
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import wasmtime

from .. import lane
from ..lane import _lane
from ..native import NativeCells, define_native_imports
from ..wasmtime import capi
from ..report import render_report
from .builtins import builtin_functions
from .clock import RealClock, VirtualClock
from ..errors import ModuleError
from ..lane.futex import FutexTable, FutexWait, NativeFutexTable
from ..hostapi import HostFunction, Sleep, Until, Wait, WaitResult, Yield
from .memory import SharedGuestMemory, VirtualGuestMemory
from ..outcome import Outcome, Status, ThreadReport
from ..loading.program import WASI_P1, Program
from ..settings import Preempt, RunSettings
from .ends import EXIT_MARK, End, trap_reason
from .routing import ThreadCall, program_linker
from .threads import THREADS, GuestThread, ThreadState

if TYPE_CHECKING:
    from ..timeline.recorder import Recorder
    from .reuse import InstancePool

__all__ = ["Execution", "ResolvedImports"]

# wasi-threads: thread ids are positive and at most 0x1FFFFFFF.
MAX_TID = 0x1FFF_FFFF
# Live guest threads at most; thread-spawn fails beyond (pthread_create returns
# EAGAIN), as an OS refuses threads past its limits. Each thread takes memory
# mappings (its fiber stack and guard; in OS mode also the OS thread's stack
# and Wasmtime's signal stack), and the process has 65,530 of them by default
# (vm.max_map_count): past ~32,000 serial threads instantiation failed, and an
# OS-thread guest made Wasmtime abort. These caps stay well inside that.
MAX_LIVE_THREADS_SERIAL = 16_384
MAX_LIVE_THREADS_OS = 4_096


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >> 63 else v


class ResolvedImports:
    """An execution's import table, kept for the next execution of an exploration (kept_world.py): the same
    host-function objects, in the same order, resolve the same guest's imports the same way, so the names and
    signatures are checked once."""

    __slots__ = ("impls", "program", "provided")

    def __init__(self) -> None:
        self.program: Program | None = None
        self.provided: list[HostFunction] = []
        self.impls: dict[tuple[str, str], HostFunction] = {}

    def matches(self, program: Program, provided: list[HostFunction]) -> bool:
        old = self.provided
        return (self.program is program and len(old) == len(provided)
                and all(a is b for a, b in zip(old, provided)))


class Execution:
    """Shared state of one run of a guest, driven by a driver."""

    def __init__(
        self,
        program: Program,
        settings: RunSettings,
        host_functions: Iterable[HostFunction] = (),
        *,
        native_wasi: Any = None,
        observers: Iterable[Any] = (),
        recorder: Recorder | None = None,
        pool: InstancePool | None = None,
        resolved: ResolvedImports | None = None,
    ) -> None:
        self.program = program
        # The reset path (reuse.py): memory, linker and instances kept across an exploration's
        # executions. The runner passes one only where a reset is exact.
        self.pool = pool
        self.settings = settings
        self.deterministic = settings.preempt is Preempt.FUEL
        self.clock: VirtualClock | RealClock = VirtualClock() if self.deterministic else RealClock()
        self._rng: random.Random | None = None  # seeded on first use (most guests never ask)
        self.futex: FutexTable | NativeFutexTable = FutexTable()
        # One lock for the execution's shared state. `cond` wakes the driver;
        # in OS-thread mode each parked thread waits on its own condition
        # (GuestThread.wakeup) on the same lock, so a notify wakes the thread
        # it released instead of every parked thread.
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self._parked_on_other: set[GuestThread] = set()
        self.threads: dict[int, GuestThread] = {}
        self._tids = itertools.count(1)
        self._last_tid = 0
        # Threads whose end has not been applied yet (live, or finishing:
        # FINISHED before thread_finished). Verdicts and wake-ups look here,
        # not at every thread the run ever had.
        self.unsettled: set[GuestThread] = set()
        # The serial drivers' timer heap: (deadline, order, thread) of every
        # wait with a deadline, so no step scans the parked threads for one.
        # Entries go stale when their wait ends first; they are skipped then.
        self._timers: list[tuple[int, int, GuestThread]] = []
        self._timer_order = itertools.count()
        self.end: End | None = None
        # A ModuleError raised on another OS thread (os mode), re-raised by the driver.
        self.load_error: ModuleError | None = None
        self.steps = 0
        # The threads' native slots (_lane_c/); `alone` answers its scheduling
        # points when another thread is parked (deadlines and waits are Python's).
        self.native = _lane.Exec(serial=settings.preempt is not Preempt.OS,
                                 alone=lambda tid: self.alone(self.threads[tid]),
                                 wake=lambda tid: self.try_wake(self.threads[tid], self.clock.now_ns()),
                                 start=lambda tid: self.threads[tid].start(), exit_mark=EXIT_MARK)
        # A timeline's recorder (runtime/timeline/) sees what Python sees: it keeps every step and
        # wait in Python, the reference path the native lane takes the same steps as.
        self.recorder = recorder
        if _lane_enabled() and settings.preempt is not Preempt.OS and recorder is None:
            # wait/notify in C in their common case; one table for both sides
            self.native.native_futex = True
            self.futex = NativeFutexTable(self.native)
        self.on_spawn: Callable[[GuestThread], None] | None = None
        self.impls: dict[tuple[str, str], HostFunction] = {}
        self.shared_memory: wasmtime.SharedMemory | None = None
        self.shared_guest_memory: SharedGuestMemory | None = None
        self.linker: wasmtime.Linker | None = None
        self.instance_pre: Any = None
        # Its native host functions' cells, when it linked for a pool (reuse.py keeps them with the linker).
        self.native_cells: NativeCells | None = None
        self.stuck_threads: list[str] = []
        # wasmtime's own WASI (NativeWasi) configures each store instead of host functions
        self.native_wasi = native_wasi
        # Extensions' attachments (extensions.py): they receive what host code emits.
        self.observers: list[Any] = list(observers)
        # Host objects' per-execution state (HostCall.execution_state).
        self.host_state: dict[Any, Any] = {}
        # Whether a thread's visible plain accesses charge the counter (the policy says: serial.py);
        # None: all do.
        self.charges_accesses: Callable[[int], bool] | None = None
        provided = [*host_functions, *self._builtins()]
        # `resolved`: the table of an earlier execution of the exploration. Not with wasmtime's own WASI
        # (resolved otherwise) nor a recorder (it wraps the table's functions in place).
        if resolved is not None and (native_wasi is not None or recorder is not None):
            resolved = None
        if resolved is not None and resolved.matches(program, provided):
            self.impls = resolved.impls
        else:
            self._resolve_imports(provided)
            if resolved is not None:
                resolved.program, resolved.provided, resolved.impls = program, provided, self.impls
        if recorder is not None:
            recorder.attach(self)

    # -- set-up ------------------------------------------------------------

    def _builtins(self) -> list[HostFunction]:
        return builtin_functions(self)

    def _resolve_imports(self, provided: list[HostFunction]) -> None:
        by_key: dict[tuple[str, str], HostFunction] = {}
        for hf in provided:
            by_key[hf.key] = hf  # later providers (user imports) override earlier ones
        unknown: list[str] = []
        mismatched: list[str] = []
        for imp in self.program.func_imports:
            if self.native_wasi is not None and imp.module == WASI_P1:
                continue
            found = by_key.get((imp.module, imp.name))
            if found is None:
                unknown.append(f"{imp.module}.{imp.name}")
                continue
            if found.params != imp.params or found.results != imp.results:
                mismatched.append(
                    f"{imp.module}.{imp.name}: guest imports {imp.signature()}, host provides "
                    f"({' '.join(t.value for t in found.params)}) -> ({' '.join(t.value for t in found.results)})"
                )
                continue
            self.impls[found.key] = found
        if unknown:
            plural = 's' if len(unknown) > 1 else ''
            raise ModuleError(f"{self.program.name}: unknown import{plural} {', '.join(unknown)}")
        if mismatched:
            raise ModuleError(f"{self.program.name}: import signature mismatch: {'; '.join(mismatched)}")
        if self.program.other_imports:
            names = ", ".join(f"{m}.{n} ({k})" for m, n, k in self.program.other_imports)
            plural = 's' if len(self.program.other_imports) > 1 else ''
            raise ModuleError(f"{self.program.name}: unsupported import{plural} {names}")

    def link(self, main_store: wasmtime.Store) -> None:
        """Clone the program's host linker, add this execution's memory, pre-instantiate."""
        base = program_linker(self.program, native_wasi=self.native_wasi is not None)
        linker = capi.clone_linker(base)
        linker.allow_shadowing = True
        mem = self.program.memory_import
        if mem is not None:
            limits = wasmtime.Limits(mem.minimum, mem.maximum)
            mtype = wasmtime.MemoryType(limits, is_64=mem.is64, shared=mem.shared)
            if mem.shared:
                try:
                    self.shared_memory = wasmtime.SharedMemory(self.program.engine, mtype)
                except wasmtime.WasmtimeError as exc:
                    raise ModuleError(f"{self.program.name}: cannot create its shared memory "
                                      f"(min {mem.minimum}, max {mem.maximum} pages): "
                                      f"{str(exc).splitlines()[0]}") from None
                self._view_memory(self.shared_memory)
                capi.define_shared_memory(linker, main_store, mem.module, mem.name, self.shared_memory)
            else:
                linker.define(main_store, mem.module, mem.name, wasmtime.Memory(main_store, mtype))
        # This execution's own env for each; through cells when the pool may keep the linker (reuse.py).
        self.native_cells = {} if self.pool is not None else None
        define_native_imports(linker, self.impls.values(), self.native_cells)
        try:
            self.instance_pre = linker.instantiate_pre(self.program.module)
        except wasmtime.WasmtimeError as exc:
            raise ModuleError(f"{self.program.name}: cannot link: {str(exc).splitlines()[0]}") from None
        self.linker = linker
        if self.pool is not None:
            self.pool.keep_world(self)

    def adopt_world(self, memory: wasmtime.SharedMemory, linker: wasmtime.Linker | None, pre: Any) -> None:
        """The reset path: this execution runs on a kept memory (zeroed), linker and InstancePre."""
        self.shared_memory = memory
        self._view_memory(memory)
        self.linker = linker
        self.instance_pre = pre

    def _view_memory(self, memory: wasmtime.SharedMemory) -> None:
        """The host's and the native futex's view of the shared memory; a guest loaded with a virtual
        size (instrument/vmem.py) sees its initial size, whatever a reused memory grew to before."""
        vmem = self.program.vmem
        mem = self.program.memory_import
        if vmem is not None and vmem.applied and mem is not None and mem.maximum is not None:
            self.native.vmem_max = mem.maximum
            self.native.vmem_pages = mem.minimum
            self.shared_guest_memory = VirtualGuestMemory(memory, self.native)
        else:
            self.shared_guest_memory = SharedGuestMemory(memory)
        self.native.set_memory(*self.shared_guest_memory.native_view())

    def start_main(self, main: GuestThread) -> None:
        """Give the main thread its instance: a kept one (reset path) or a new one, linking first if needed."""
        if self.pool is not None and self.pool.attach(self):
            if not main.start_reused():
                main.start()
            return
        store = main.create_store()
        self.link(store)
        main.begin_instantiate()

    # -- threads -------------------------------------------------------------

    def new_thread(self, start_arg: int | None) -> GuestThread:
        """Register a guest thread (main when start_arg is None); the driver starts it."""
        tid = 0 if start_arg is None else next(self._tids)
        self._last_tid = tid
        t = GuestThread(self, tid, start_arg)
        t.call = ThreadCall(t)
        with self.cond:
            self.threads[tid] = t
            self.unsettled.add(t)
            self.native.add(t.slot)
        THREADS[t.key] = t
        if self.recorder is not None and start_arg is None:
            self.recorder.thread_new(tid, None)
        return t

    def spawn(self, parent: GuestThread, start_arg: int) -> int:
        """wasi.thread-spawn: a new guest thread, or a negative error."""
        if self.end is not None:
            return -1
        cap = MAX_LIVE_THREADS_SERIAL if self.native.serial else MAX_LIVE_THREADS_OS
        if self.native.nlive >= cap or self._last_tid >= MAX_TID:
            return -1
        t = self.new_thread(start_arg)
        if self.recorder is not None:
            self.recorder.thread_new(t.tid, parent.tid)
        self.spawned_in_step = True
        self.native.progressed = 1
        if self.on_spawn is not None:
            try:
                self.on_spawn(t)
            except RuntimeError:  # the OS would not start another thread ("can't start new thread")
                with self.cond:
                    t.state = ThreadState.FINISHED
                    t.settle()
                t.close()
                return -1
        return t.tid

    @property
    def spawned_in_step(self) -> bool:
        """A thread was spawned during the current step (kept natively: the lane resets it)."""
        return bool(self.native.spawned)

    @spawned_in_step.setter
    def spawned_in_step(self, value: bool) -> None:
        self.native.spawned = int(value)

    # -- waits ---------------------------------------------------------------

    def begin_wait(self, thread: GuestThread, wait: Wait) -> None:
        """A host call parked `thread` on `wait` (called from the thread's poll)."""
        thread.wait = wait
        thread.wake_result = WaitResult.READY
        if self.recorder is not None:
            if isinstance(wait, Yield):
                self.recorder.yielded(thread)
            else:
                self.recorder.parked(thread, _describe_wait(wait))
        if isinstance(wait, Yield):
            thread.deadline_ns = None
            # A thread that only yields lets virtual time pass (see GuestThread.spin_tick).
            self.clock.advance(thread.spin_tick())
            return
        if isinstance(wait, Sleep):
            thread.deadline_ns = self.clock.now_ns() + max(0, wait.ns)
        elif isinstance(wait, Until):
            thread.deadline_ns = None if wait.timeout_ns is None else self.clock.now_ns() + max(0, wait.timeout_ns)
            if isinstance(wait, FutexWait):
                thread.waiter = wait.waiter
        with self.cond:
            thread.state = ThreadState.PARKED
            if thread.deadline_ns is not None and self.native.serial:
                heapq.heappush(self._timers, (thread.deadline_ns, next(self._timer_order), thread))
                self._publish_next_deadline()
            # Only a notify (Python code) or its deadline can wake it: the
            # native lane and scheduling points need not look at it until then.
            if isinstance(wait, Sleep):
                thread.slot.blocked = _lane.TIMED
            elif isinstance(wait, FutexWait) and not wait.external and not wait.ready():
                thread.slot.blocked = _lane.BLOCKED if thread.deadline_ns is None else _lane.TIMED

    def _publish_next_deadline(self) -> None:
        """Drop stale timers from the top of the heap; tell the native lane the earliest deadline."""
        timers = self._timers
        while timers:
            deadline, _, t = timers[0]
            if t.state is ThreadState.PARKED and t.deadline_ns == deadline:
                break
            heapq.heappop(timers)
        self.native.next_deadline_ns = timers[0][0] if timers else -1

    def earliest_deadline(self) -> int | None:
        """The earliest deadline of a parked thread (serial modes), or None."""
        self._publish_next_deadline()
        return self._timers[0][0] if self._timers else None

    @property
    def has_timers(self) -> bool:
        """Whether a wait with a deadline may be due (serial modes): `wake_due` has nothing to do otherwise."""
        return bool(self._timers)

    def wake_due(self, now_ns: int) -> None:
        """Wake every parked thread whose deadline has come (serial modes)."""
        timers = self._timers
        if not timers or timers[0][0] > now_ns:
            return
        while timers and timers[0][0] <= now_ns:
            _, _, t = heapq.heappop(timers)
            self.try_wake(t, now_ns)
        self._publish_next_deadline()

    def try_wake(self, thread: GuestThread, now_ns: int) -> bool:
        """If `thread`'s wait is satisfied or timed out, make it runnable. Caller holds `cond` in OS mode."""
        wait = thread.wait
        if wait is None or thread.state is not ThreadState.PARKED:
            return thread.state is ThreadState.RUNNABLE
        ready = False
        if isinstance(wait, Until):
            ready = wait.ready()
        if ready:
            thread.wake_result = WaitResult.READY
            self.native.progressed = 1  # something released it
        elif thread.deadline_ns is not None and now_ns >= thread.deadline_ns:
            if isinstance(wait, FutexWait) and not self.futex.cancel(wait.waiter):
                thread.wake_result = WaitResult.READY  # a notify won the race
            else:
                thread.wake_result = WaitResult.READY if isinstance(wait, Sleep) else WaitResult.TIMED_OUT
        else:
            return False
        thread.waiter = None
        thread.deadline_ns = None
        thread.state = ThreadState.RUNNABLE
        if self.recorder is not None:
            self.recorder.woken(thread, "timed out" if thread.wake_result is WaitResult.TIMED_OUT else "ready")
        return True

    def poke(self) -> None:
        """Something a parked thread may wait on changed (thread-safe).

        Wakes the driver and the OS threads parked on waits other than a futex
        (host objects, stdin): a futex waiter is woken by its notify (wake_waiters).
        """
        with self.cond:
            self.cond.notify_all()
            for t in self._parked_on_other:
                t.wakeup.notify()

    def wake_waiters(self, threads: Iterable[GuestThread]) -> None:
        """OS-thread mode: the threads a futex notify released look at their wait again."""
        with self.cond:
            for t in threads:
                t.wakeup.notify()

    def wake_everyone(self) -> None:
        """Caller holds `cond`. The end, or a stop: every parked OS thread looks again."""
        self.cond.notify_all()
        for t in self.unsettled:
            t.wakeup.notify()

    def park_os_thread(self, thread: GuestThread, timeout: float | None) -> None:
        """Caller holds `cond`. OS-thread mode: sleep until woken (see poke/wake_waiters) or `timeout`."""
        other = not isinstance(thread.wait, FutexWait)
        if other:
            self._parked_on_other.add(thread)
        try:
            thread.wakeup.wait(timeout)
        finally:
            if other:
                self._parked_on_other.discard(thread)

    def alone(self, thread: GuestThread) -> bool:
        """True when no other thread can run unless `thread` makes a host call that wakes or spawns it.

        Then a scheduling point of `thread` has only one possible outcome and can be skipped.
        Threads blocked on a futex are not in the active set; a timed-parked one wakes on its own.
        """
        native = self.native
        if native.ntimed:
            return False
        threads = self.threads
        for tid in native.active():
            t = threads[tid]
            if t is thread:
                continue
            if t.state is not ThreadState.PARKED or t.deadline_ns is not None:
                return False
            w = t.wait
            if isinstance(w, Until) and (w.external or w.ready()):
                return False
        return True

    def parked_on_other_waits(self) -> list[GuestThread]:
        """The parked threads of the active set: waits that neither a notify nor a deadline alone ends."""
        threads = self.threads
        return [t for t in (threads[tid] for tid in self.native.active()) if t.state is ThreadState.PARKED]

    def blocked_forever(self, threads: list[GuestThread]) -> bool:
        """True when none of `threads` (all parked) can ever be woken from outside."""
        for t in threads:
            if t.deadline_ns is not None:
                return False
            w = t.wait
            if isinstance(w, Until) and w.external:
                return False
        return True

    # -- randomness ------------------------------------------------------------

    def random_bytes(self, n: int) -> bytes:
        if self.deterministic:
            if self._rng is None:
                self._rng = random.Random(self.settings.seed)
            return self._rng.randbytes(n)
        import os

        return os.urandom(n)

    # -- ending ------------------------------------------------------------------

    def request_exit(self, code: int, thread: GuestThread) -> None:
        self._set_end(End(Status.EXITED, exit_code=code & 0xFFFF_FFFF if code >= 0 else code, thread=thread.tid))

    def host_failed(self, thread: GuestThread, hf: HostFunction, exc: BaseException) -> None:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self._set_end(End(Status.TRAPPED, thread=thread.tid,
                          message=f"host function {hf.module}.{hf.name} raised {type(exc).__name__}: {exc}",
                          host_exception=exc, host_traceback=tb))

    def thread_finished(self, thread: GuestThread) -> None:
        """Apply wasi-threads exit semantics when `thread`'s future completed."""
        try:
            self._apply_exit(thread)
        finally:
            if self.recorder is not None:
                self.recorder.finished(thread, _how_it_ended(thread))
            self.native.progressed = 1
            with self.cond:
                thread.settle()

    def _apply_exit(self, thread: GuestThread) -> None:
        f = thread.failure
        if f is None:
            if thread.is_main:
                self._set_end(End(Status.EXITED, exit_code=0, thread=0))
            return
        if self.end is not None:
            if self.end.host_exception is not None and self.end.thread == thread.tid:
                thread.capture_frames()  # its own host function failed: where the guest called it
            return  # it was stopped because the guest was already ending
        if f.exit_status is not None:  # wasmtime's own WASI proc_exit
            self._set_end(End(Status.EXITED, exit_code=f.exit_status, thread=thread.tid))
            return
        if thread.kill_message is None:
            thread.capture_frames()
            self._set_end(End(Status.TRAPPED, thread=thread.tid, message=trap_reason(f.message)))

    def declare(self, status: Status, message: str, limit: str | None = None) -> None:
        self._set_end(End(status, message=message, limit=limit))

    def _set_end(self, end: End) -> None:
        with self.cond:
            if self.end is None:
                self.end = end
                self.native.ended = True
                if self.recorder is not None:
                    self.recorder.ended(end.status.value, end.message or "", end.thread)
            self.wake_everyone()

    # -- teardown and reports --------------------------------------------------------

    def release(self) -> None:
        """Drop the execution's native objects, after every thread has been closed."""
        for t in self.threads.values():
            THREADS.pop(t.key, None)
        self.native.release()
        pool = self.pool
        if pool is not None:
            pool.ended(self)
        if self.instance_pre is not None:
            if pool is None or not pool.owns(self.instance_pre):
                self.instance_pre.close()
            self.instance_pre = None
        if self.linker is not None:
            if pool is None or not pool.owns(self.linker):
                self.linker.close()
            self.linker = None
        self.shared_guest_memory = None
        if self.shared_memory is not None:
            if pool is None or not pool.owns(self.shared_memory):
                self.shared_memory.close()
            self.shared_memory = None

    def thread_reports(self) -> list[ThreadReport]:
        return [_thread_report(self.threads[tid]) for tid in sorted(self.threads)]

    def outcome(self, stdout: bytes, stderr: bytes, elapsed: float) -> Outcome:
        end = self.end or End(Status.TRAPPED, message="execution ended without a cause")
        threads = self.thread_reports()
        out = Outcome(
            status=end.status,
            exit_code=end.exit_code if end.status is Status.EXITED else None,
            stdout_bytes=stdout,
            stderr_bytes=stderr,
            threads=threads,
            steps=self.steps,
            trap_thread=end.thread if end.status is Status.TRAPPED else None,
            trap_message=end.message if end.status is Status.TRAPPED else None,
            host_exception=end.host_exception,
            elapsed=elapsed,
            preempt=self.settings.preempt.value,
            seed=self.settings.seed if self.deterministic else None,
            hang_limit=end.limit if end.status is Status.HANG else None,
        )
        out.report = render_report(out, end, self.program)
        return out


def _thread_report(t: GuestThread) -> ThreadReport:
    """One thread's state, in words that agree with each other: a finished thread waits on nothing,
    a thread the guest's end unwound (it did not finish) was parked or running, a woken thread is
    not "in" the wait it was woken from."""
    state = t.ended_by or t.state.value
    wait = t.wait
    waiting = _describe_wait(wait) if wait is not None and not isinstance(wait, Yield) else None
    trap = None
    failure = t.failure
    if failure is not None and t.kill_message is None and failure.exit_status is None:
        reason = trap_reason(failure.message)
        if reason != EXIT_MARK:
            trap, state = reason, "trapped"
        elif state == ThreadState.FINISHED.value:
            # Unwound by the guest's end (another thread exited or trapped) before any driver
            # stopped it for the report (os mode: it made a host call first): it did not finish.
            state = "parked" if waiting else "running"
    if state == ThreadState.FINISHED.value:
        waiting = None  # it returned: whatever it once waited for is over
    woken = None
    if waiting is not None and state != "parked":
        woken, waiting = waiting, None
    return ThreadReport(t.tid, state, waiting, list(t.frames), trap, woken)


def _lane_enabled() -> bool:
    return lane.NATIVE  # read at each use: tests switch it


def _how_it_ended(thread: GuestThread) -> str:
    """A finished thread's end, in a word or a line (a timeline's exit mark)."""
    f = thread.failure
    if f is None:
        return "returned"
    if f.exit_status is not None or trap_reason(f.message) == EXIT_MARK:
        return "exited"
    if thread.kill_message is not None:
        return "stopped"
    return f"trapped: {trap_reason(f.message)}"


def _describe_wait(wait: Wait) -> str:
    if isinstance(wait, Until):
        return wait.describe
    if isinstance(wait, Sleep):
        return f"sleep({wait.ns} ns)"
    return type(wait).__name__


