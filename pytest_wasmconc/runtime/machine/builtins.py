"""Host functions every guest gets from the runtime itself.

`wasi.thread-spawn` (the wasi-threads ABI) and the `wasmconc` imports the
instrumenter substitutes for `memory.atomic.wait32/wait64/notify` and adds
as scheduling points before atomic read-modify-writes.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from ...instrument.abi import PREEMPT_IMPORT, VMEM_GROW_IMPORT, VMEM_SIZE_IMPORT
from ...instrument.abi import USER_IMPORTS as LOCK_REPORTS
from ..lane import _lane
from ..wasmtime.hostcalls import YieldAfter
from ..lane.futex import FutexWait
from ..hostapi import GuestTrap, HostFunction, ValType, Wait, WaitResult
from ..loading.program import INSTRUMENT_MODULE, THREAD_SPAWN

if TYPE_CHECKING:
    from .execution import Execution

__all__ = ["builtin_functions"]

I32, I64 = ValType.I32, ValType.I64

# memory.atomic.wait results
WAIT_OK, WAIT_NOT_EQUAL, WAIT_TIMED_OUT = 0, 1, 2


# The instrumenter's hottest imports run in C (_lane_c/host.c), with no Python
# at all: `preempt` (the counter ran out: the quantum ends, or in epoch mode
# the counter is refilled while the time slice lasts) and `sched_point` (before
# an atomic read-modify-write: a scheduling point unless no other thread could
# run).
NATIVE_ONLY = {
    (INSTRUMENT_MODULE, "sched_point"): _lane.HOST_SCHED_POINT,
    PREEMPT_IMPORT: _lane.HOST_PREEMPT,
}
# The virtual memory size's `memory.size`/`memory.grow` (instrument/vmem.py, _lane_c/vmem.c): C
# functions Wasmtime calls directly (they never suspend), by address.
NATIVE_UNCHECKED = {
    VMEM_SIZE_IMPORT: _lane.VMEM_SIZE,
    VMEM_GROW_IMPORT: _lane.VMEM_GROW,
}
# The futex imports run in C (_lane_c/futex.c) in their common case and fall
# back on the Python functions below for the rest (timeouts, traps, OS mode).
NATIVE_FIRST = {
    (INSTRUMENT_MODULE, "wait32"): _lane.HOST_WAIT32,
    (INSTRUMENT_MODULE, "wait64"): _lane.HOST_WAIT64,
    (INSTRUMENT_MODULE, "wait32_m64"): _lane.HOST_WAIT32_M64,
    (INSTRUMENT_MODULE, "wait64_m64"): _lane.HOST_WAIT64_M64,
    (INSTRUMENT_MODULE, "notify"): _lane.HOST_NOTIFY,
    (INSTRUMENT_MODULE, "notify_m64"): _lane.HOST_NOTIFY_M64,
}


def _runs_natively(call: Any, *args: Any) -> Any:
    raise RuntimeError("wasmconc: internal error: a native builtin was called through Python")


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >> 63 else v


def builtin_functions(ex: Execution) -> list[HostFunction]:
    """The runtime's own imports (the same objects for every execution of a mode: each
    call finds its execution through its thread), and the lock reports the guest imports."""
    base = _SERIAL if ex.settings.preempt.value != "os" else _OS_THREADS
    reports = _lock_reports(ex.program.func_imports)
    return base + reports if reports else base


def _lock_reports(imports: Any) -> list[HostFunction]:
    """`wasmconc.lock_acquired/lock_try_acquired/lock_released(id)`, as the guest declares them.

    A guest reports its own locks through these (i32 or i64 id). When the
    lock-order check is on, the instrumenter rewrites their calls into its
    lock events; otherwise the calls stay and do nothing.
    """
    return [HostFunction(imp.module, imp.name, imp.params, (), _ignore_lock_report) for imp in imports
            if imp.module == INSTRUMENT_MODULE and imp.name in LOCK_REPORTS and not imp.results
            and imp.params in ((I32,), (I64,))]


def _ignore_lock_report(call: Any, lock_id: int) -> None:
    return None


def _thread_spawn(serial: bool) -> Any:
    def thread_spawn(call: Any, start_arg: int) -> Any:
        thread = call._thread
        tid = thread.execution.spawn(thread, start_arg)
        if tid > 0 and serial:
            return YieldAfter(tid)  # a spawn is a scheduling point
        return tid

    return thread_spawn


def _effective(call: Any, addr: int, offset: int, memidx: int, width: int) -> tuple[Any, int]:
    if memidx != 0:
        raise GuestTrap(f"atomic wait/notify on memory {memidx}: only memory 0 is supported")
    ea = addr + offset
    if ea % width:
        raise GuestTrap("unaligned atomic")
    mem = call.memory
    if not mem.in_bounds(ea, width):
        raise GuestTrap("out of bounds memory access")
    return mem, ea


def _wait(width: int) -> Any:
    def wait(call: Any, addr: int, expected: int, timeout: int, offset: int, memidx: int) -> Any:
        mem, ea = _effective(call, addr, offset, memidx, width)
        if not mem.shared:
            raise GuestTrap("atomic wait on non-shared memory")
        thread = call._thread
        futex = thread.execution.futex
        with futex.lock:
            current = mem.load_u32(ea) if width == 4 else mem.load_u64(ea)
            if current != expected:
                # A quiet point (_lane_c/lane.h), as in the native wait (futex.c).
                return YieldAfter(WAIT_NOT_EQUAL) if thread.execution.native.quiet_point() else WAIT_NOT_EQUAL
            waiter = futex.enqueue(thread, ea)
        t = _signed64(timeout)
        what = f"memory.atomic.wait{width * 8} @ {ea:#x} (expected {expected})"
        return _park(FutexWait(ready=lambda: waiter.woken, timeout_ns=None if t < 0 else t,
                               describe=what, waiter=waiter))

    return wait


def _notify(serial: bool) -> Any:
    def notify(call: Any, addr: int, count: int, offset: int, memidx: int) -> Any:
        mem, ea = _effective(call, addr, offset, memidx, 4)
        if not mem.shared:
            return 0
        ex = call._thread.execution
        woken = ex.futex.wake(ea, count)
        if woken and ex.recorder is not None:
            ex.recorder.notified(call._thread, ea, [w.thread.tid for w in woken])
        if woken:
            if serial:
                # The driver polls on this very thread, so there is nobody to poke.
                return YieldAfter(len(woken))  # let the scheduler consider the woken threads
            ex.wake_waiters(w.thread for w in woken)
        return len(woken)

    return notify


def _functions(serial: bool) -> list[HostFunction]:
    spawn, notify = _thread_spawn(serial), _notify(serial)
    return [
        HostFunction(THREAD_SPAWN[0], THREAD_SPAWN[1], (I32,), (I32,), spawn),
        HostFunction(INSTRUMENT_MODULE, "wait32", (I32, I32, I64, I32, I32), (I32,), _wait(4)),
        HostFunction(INSTRUMENT_MODULE, "wait64", (I32, I64, I64, I32, I32), (I32,), _wait(8)),
        HostFunction(INSTRUMENT_MODULE, "notify", (I32, I32, I32, I32), (I32,), notify),
        HostFunction(INSTRUMENT_MODULE, "wait32_m64", (I64, I32, I64, I64, I32), (I32,), _wait(4)),
        HostFunction(INSTRUMENT_MODULE, "wait64_m64", (I64, I64, I64, I64, I32), (I32,), _wait(8)),
        HostFunction(INSTRUMENT_MODULE, "notify_m64", (I64, I32, I64, I32), (I32,), notify),
        # Linked as the native lane's own functions (NATIVE_ONLY); listed for the import checks.
        HostFunction(INSTRUMENT_MODULE, "sched_point", (I32,), (), _runs_natively),
        HostFunction(PREEMPT_IMPORT[0], PREEMPT_IMPORT[1], (), (), _runs_natively),
        HostFunction(VMEM_SIZE_IMPORT[0], VMEM_SIZE_IMPORT[1], (), (I32,), _runs_natively),
        HostFunction(VMEM_GROW_IMPORT[0], VMEM_GROW_IMPORT[1], (I32,), (I32,), _runs_natively),
    ]


_SERIAL = _functions(serial=True)
_OS_THREADS = _functions(serial=False)


def _park(wait: Wait) -> Generator[Wait, WaitResult, int]:
    result = yield wait
    return WAIT_OK if result is WaitResult.READY else WAIT_TIMED_OUT
