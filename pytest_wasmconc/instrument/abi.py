"""What instrumented code and the runtime agree on: import and export names, charges, the schedule version.

Every run imports these (the runtime links the imports, reads the exports,
charges the counter); a run whose instrumented program comes from the compile
cache needs nothing else of the instrumenter. So this module imports nothing:
`wasmconc run` on a cache hit never loads the rewriting passes (their import
was a fifth of the process's start-up).
"""

from __future__ import annotations

import enum

__all__ = ["ACCESS_COST", "ACCESS_COST_EXPORT", "BUDGET_EXPORT", "GLOBAL_EXPORT_PREFIX", "HOST_MODULE",
           "HOT_ACCESS_COST", "PREEMPT_IMPORT", "PROGRESS_EXPORT", "SCHEDULE_VERSION", "START_EXPORT",
           "USER_ACQUIRED", "USER_IMPORTS", "USER_RELEASED", "USER_TRY_ACQUIRED", "VMEM_GROW_IMPORT",
           "VMEM_SIZE_IMPORT", "InstrumentLevel"]

# The module of every import the passes add.
HOST_MODULE = "wasmconc"

# Where the scheduling points and preemption checks go. A seed names one
# schedule only for one placement, so replay tokens carry this number and
# refuse another: bump it whenever a pass adds, moves or removes a point or a
# counter check (1: no points before atomics on the function's own stack frame;
# 2: points around host calls, counter checks before shared accesses at the shared level).
SCHEDULE_VERSION = 2

# What one visible access charges the preemption counter (an instruction charges 1). Above the
# smallest mean quanta the policies draw (slice / 128 with the default slice), so a schedule at
# that scale preempts before nearly every visible access, one at the largest scale every hundred.
ACCESS_COST = 100
# What a hot access charges: one a race check found racy (`load_program(hot_sites=...)`). Far above
# every instruction count between two hot accesses of a small program, so a policy whose quanta
# average this much ends nearly every quantum right before a hot access, and almost nowhere else:
# its preemptions fall on the accesses that matter (Thomson et al., TOPC 2016, make only racy
# accesses visible operations for the same reason).
HOT_ACCESS_COST = 1_000_000

# The restart pass (restart.py): the start function and each mutable global, exported for a reset.
START_EXPORT = "__wasmconc_start"
GLOBAL_EXPORT_PREFIX = "__wasmconc_g"

# The virtual memory pass (vmem.py, loads for the reset path only): `memory.size` and `memory.grow` of
# the shared memory become calls of these, which answer the size the guest grew the memory to in this
# execution (runtime/lane/_lane_c/vmem.c): () -> i32 pages, and (i32 delta) -> i32 old pages or -1.
VMEM_SIZE_IMPORT = (HOST_MODULE, "memory_size")
VMEM_GROW_IMPORT = (HOST_MODULE, "memory_grow")

# The atomics pass (atomics.py): how many atomic read-modify-writes and compare-exchanges of the
# instance changed memory (an i32 that wraps): the runtime counts a change as progress.
PROGRESS_EXPORT = "__wasmconc_progress"

# The counter pass (preempt.py): the import called when the quantum is over, the counter's export.
PREEMPT_IMPORT = (HOST_MODULE, "preempt")
BUDGET_EXPORT = "__wasmconc_budget"
# What a visible access charges, in a global of each instance (the `shared` level): the host may
# set it to 0 for an execution, which then runs as if accesses were not visible.
ACCESS_COST_EXPORT = "__wasmconc_access_cost"

# The guest's own lock reports (locks.py): the guest-callable imports and the event kind each is.
USER_ACQUIRED = "acquired"  # wasmconc.lock_acquired(id): the guest's own blocking acquire
USER_TRY_ACQUIRED = "try-acquired"  # wasmconc.lock_try_acquired(id): a non-blocking one
USER_RELEASED = "released"  # wasmconc.lock_released(id)
USER_IMPORTS = {
    "lock_acquired": USER_ACQUIRED,
    "lock_try_acquired": USER_TRY_ACQUIRED,
    "lock_released": USER_RELEASED,
}


class InstrumentLevel(enum.Enum):
    """How much to instrument.

    WAITS: only wait/notify are rewritten. ATOMICS (default): also a
    sched point before every atomic read-modify-write and compare-exchange.
    MEMORY: also before every atomic load and atomic store. SHARED: also
    every plain load and store to shared memory is a visible operation, where
    a quantum may end (fuel mode: `shared_accesses.py`).
    """

    WAITS = "waits"
    ATOMICS = "atomics"
    MEMORY = "memory"
    SHARED = "shared"
