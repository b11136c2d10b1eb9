# Types of the native hot path (_lane_c/); see module.c for what each does.
from collections.abc import Callable
from typing import Any

NATIVE_HOST: int
PYTHON_HOST: int
BINDING_FINALIZER: int
CELL_HOST: int
NATIVE_BINDING_FINALIZER: int
CALLER_THREAD_ID: int
CALLER_MEMORY_SIZE: int
VMEM_SIZE: int
VMEM_GROW: int
HOST_PREEMPT: int
HOST_SCHED_POINT: int
HOST_WAIT32: int
HOST_WAIT64: int
HOST_WAIT32_M64: int
HOST_WAIT64_M64: int
HOST_NOTIFY: int
HOST_NOTIFY_M64: int
YIELD_QUANTUM: int
BLOCKED: int
WOKEN: int
TIMED: int
YIELD_SCHED: int
POLICY_RR: int
POLICY_RANDOM: int
POLICY_PYTHON: int
POLICY_PCT: int
RUN_PYTHON_STEP: int
RUN_POST_POLL: int
SOLO_SLICES: int
QUIET_POINT_COST: int
EPOCH_CHECK: int
VAL_SIZE: int
GLOBAL_SIZE: int

def native_streams() -> bool: ...
def reset_globals(context: int, globals: bytes, values: bytes) -> None: ...

def init(future_poll: int, context_get_data: int, caller_context: int, global_get: int, global_set: int,
         trap_new: int, error_delete: int, sharedmemory_data_size: int, sharedmemory_grow: int, /) -> None: ...

def set_python_host(call: Callable[[int, int, int, int, int, int, int], int], resume: Callable[[int], bool],
                    finalize: Callable[[int], None], /) -> None: ...

def set_bindings(table: dict[int, Any], /) -> None: ...

class Slot:
    tid: int
    suspended: int
    state: int
    blocked: int
    wait_kind: int
    @property
    def woken(self) -> int: ...
    @property
    def queued(self) -> int: ...
    @property
    def native_wait(self) -> int: ...
    @property
    def futex_addr(self) -> int: ...
    @property
    def wait_expected(self) -> int: ...
    yield_kind: int
    future: int
    @property
    def address(self) -> int: ...
    def __init__(self, tid: int) -> None: ...
    def set_kill(self, message: str | None, /) -> None: ...
    def set_budget(self, context: int, global_handle: bytes, /) -> None: ...
    def clear_budget(self) -> None: ...
    def set_progress(self, global_handle: bytes, /) -> None: ...
    def begin_quantum(self, fuel: int, slice_end_ns: int, /) -> None: ...
    def fuel_used(self) -> int: ...
    def arm_yield(self, kind: int, trap_ret: int, continuation: int, /) -> None: ...

class Exec:
    ended: int
    spawned: int
    native_futex: int
    serial: int
    progressed: int
    idle_since: int
    count_points: int
    @property
    def points(self) -> int: ...
    nlive: int
    nparked: int
    ntimed: int
    nactive: int
    next_deadline_ns: int
    vmem_pages: int
    vmem_max: int
    def __init__(self, serial: bool, alone: Callable[[int], bool], wake: Callable[[int], object],
                 start: Callable[[int], object], exit_mark: str) -> None: ...
    def add(self, slot: Slot, /) -> None: ...
    def release(self) -> None: ...
    def begin_points(self, steps_left: int, slice: int, /) -> None: ...
    def point_steps(self, slice: int, /) -> int: ...
    def quiet_point(self) -> bool: ...
    def futex_enqueue(self, slot: Slot, addr: int, /) -> Slot: ...
    def futex_wake(self, addr: int, count: int, /) -> list[Slot]: ...
    def futex_cancel(self, slot: Slot, /) -> bool: ...
    def futex_waiting(self) -> int: ...
    def set_memory(self, base: int, size: int, handle: int, /) -> None: ...
    def active(self) -> list[int]: ...

class Lane:
    steps: int
    current: int
    reason: int
    rr_last: int
    picks: int
    wall_deadline_ns: int
    last_tid: int
    last_solo: int
    last_finished: int
    last_began_ns: int
    def __init__(self, execution: Exec, fuel: bool, slice: int, tick_ns: int, max_steps: int, wall_deadline_ns: int,
                 policy: int, policy_slice: int, choice_bits: Any, slice_bits: Any, decisions: list[int] | None,
                 slices: list[int] | None, stay: int, clock: Any, interrupted: list[bool],
                 pick: Callable[[list[int], int | None, Any], int] | None = None,
                 slice_for: Callable[[int], int] | None = None, reasons: tuple[Any, ...] | None = None,
                 pct: Any = None) -> None: ...
    def run(self) -> int: ...
