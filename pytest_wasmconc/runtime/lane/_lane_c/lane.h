/* The native lane's shared declarations (see module.c for what the lane is). */
#ifndef WASMCONC_LANE_H
#define WASMCONC_LANE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "structmember.h"
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* ---- Wasmtime's C API, the parts used here (wasmtime/val.h, async.h) ---- */

typedef struct { uint8_t kind; uint8_t pad[7]; union { int32_t i32; int64_t i64; uint8_t raw[24]; } of; } wt_val;
typedef struct { unsigned char opaque[24]; } wt_global;  /* wasmtime_global_t, copied whole */
typedef bool (*wt_cont_cb)(void *env);
typedef struct { wt_cont_cb callback; void *env; void (*finalizer)(void *); } wt_cont;

/* Wasmtime's functions, from wasmtime-py's loaded library (module.c's init). */
extern bool (*p_future_poll)(void *future);
extern void *(*p_context_get_data)(void *context);
extern void *(*p_caller_context)(void *caller);
extern void (*p_global_get)(void *context, const wt_global *g, wt_val *out);
extern void *(*p_global_set)(void *context, const wt_global *g, const wt_val *v);
extern void *(*p_trap_new)(const char *msg, size_t len);
extern void (*p_error_delete)(void *err);
extern size_t (*p_sharedmemory_data_size)(const void *memory);
extern void *(*p_sharedmemory_grow)(const void *memory, uint64_t delta, uint64_t *prev_pages);

enum { ST_NEW = 0, ST_RUNNABLE = 1, ST_PARKED = 2, ST_FINISHED = 3 };
enum { YIELD_NONE = 0, YIELD_QUANTUM = 1, YIELD_SCHED = 2 };
enum { HOST_PREEMPT = 1, HOST_SCHED_POINT = 2, HOST_WAIT32 = 3, HOST_WAIT64 = 4, HOST_WAIT32_M64 = 5,
       HOST_WAIT64_M64 = 6, HOST_NOTIFY = 7, HOST_NOTIFY_M64 = 8 };
/* A native host function's env: (Python binding key << 8) | HOST_* kind. The
 * futex functions keep a Python binding to fall back on for every case they
 * do not take themselves (timeouts, traps, OS-thread mode). */
#define HOST_KIND(env) ((int)((uintptr_t)(env) & 0xff))
#define HOST_BINDING(env) ((void *)((uintptr_t)(env) >> 8))
/* A parked slot's `blocked`: BLOCKED (a futex wait without a timeout: only a
 * notify wakes it), WOKEN (notified, runnable at the next step), TIMED (parked
 * with a deadline on a wait only a notify or the deadline ends: the driver's
 * timer heap watches the deadline). BLOCKED and TIMED slots are out of the
 * exec's active set, so no step looks at them. */
enum { BLOCKED = 1, WOKEN = 2, TIMED = 3 };
/* SwitchReason, in the order of runtime/drivers/serial.py's REASONS. */
enum { R_START = 0, R_PREEMPTED = 1, R_YIELDED = 2, R_BLOCKED = 3, R_SPAWNED = 4, R_EXITED = 5, R_GAVE_UP = 6 };
enum { RUN_PYTHON_STEP = 0, RUN_POST_POLL = 1 };
enum { POLICY_RR = 1, POLICY_RANDOM = 2, POLICY_PYTHON = 3, POLICY_PCT = 4 };

#define SLOT_MAGIC 0x776173636f6e63ULL /* "wasconc" */
#define SOLO_SLICES 256
#define EPOCH_CHECK 50000
#define MIN_REFILL 1000
#define MAX_REFILL (1LL << 32)
/* What a quiet point (ExecObject.points) is charged to the step budget, in units of fuel. */
#define QUIET_POINT_COST 1000

static inline int64_t monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* what time.monotonic_ns reads on Linux */
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline void *new_trap(const char *msg) { return p_trap_new(msg, strlen(msg)); }

/* ---- Exec: one execution's slots and flags ---- */

struct SlotObject;
struct FutexQueue;

typedef struct {
    PyObject_HEAD
    struct SlotObject **slots;  /* strong references, in tid order */
    Py_ssize_t nslots, capacity;
    /* The active set: live slots that are not BLOCKED/TIMED, in tid order. Steps
     * and scheduling points look only at these, so their cost does not grow
     * with the number of parked threads. Kept by slot_set_state/blocked. */
    struct SlotObject **active;
    Py_ssize_t nactive, active_capacity;
    Py_ssize_t nlive, nparked, ntimed; /* counts: not finished; parked; blocked == TIMED */
    Py_ssize_t nstalled;        /* active slots the lane cannot run as they are (parked, or no future yet) */
    int64_t next_deadline_ns;   /* the earliest deadline of the timer heap, -1: none (Python keeps it) */
    /* The step budget counts steps without progress: a thread spawned or
     * finished, or a parked thread released by another (a notify, a host
     * object). Whoever sees such an event sets `progressed`; the step loops
     * move `idle_since` to the current step. */
    int progressed;
    long long idle_since;
    /* Quiet points: visible operations at which the scheduler had nothing to
     * decide and the thread went on within its quantum (a scheduling point of
     * a thread running alone, a futex wait that returned at once). In fuel
     * mode (`count_points`) each is charged to the step budget like
     * QUIET_POINT_COST units of fuel, about what its host call costs in time:
     * fuel alone counted a lone thread spinning through host calls (an atomic
     * load and its scheduling point: 4 units and ~65 ns; a wait on a stale
     * value ~130 ns) as taking a step per 2,500 calls: 130-190 s of CPU for
     * the default budget, which a spin without them spends in 0.5-1 s.
     * `points`: this poll's, turned into steps after it (exec_point_steps);
     * `point_fuel`: the charge not yet a whole step; `points_left`: how many
     * more spend the budget (-1: no budget), where a quiet point yields so the
     * step loop can end the run. */
    int count_points;
    long long points, points_left, point_fuel;
    int serial;
    int ended;                  /* Execution.end is set */
    int spawned;                /* Execution.spawned_in_step */
    PyObject *alone;            /* callable(tid) -> bool, asked when other threads are parked */
    PyObject *wake;             /* callable(tid): Execution.try_wake for a woken futex waiter */
    PyObject *start;            /* callable(tid): GuestThread.start for a new thread */
    char *exit_mark;
    /* the futex table: one FIFO queue of waiters per address, in a hash table by address */
    struct FutexQueue **fbuckets;
    size_t fnbuckets, fnqueues;
    Py_ssize_t fwaiting;
    int native_futex;           /* wait/notify without Python (serial modes, lane enabled) */
    char *mem_base;             /* the shared memory, when the guest imports one */
    uint64_t mem_size;          /* its size as last seen (a shared memory never shrinks) */
    void *shared_memory;        /* wasmtime_sharedmemory_t*, to see it grow */
    /* The virtual memory size (instrument/vmem.py, vmem.c): the pages the guest sees, which
     * `memory.size` answers and `memory.grow` moves; -1: the guest sees the real size. Above it,
     * up to the real size, the reset path's pages are PROT_NONE (runtime/machine/reuse.py). */
    int64_t vmem_pages;
    int64_t vmem_max;           /* the memory's declared maximum, in pages */
    char vmem_lock;             /* held by a grow (vmem.c) */
} ExecObject;

typedef struct SlotObject {
    PyObject_HEAD
    uint64_t magic;
    ExecObject *exec;           /* borrowed: the exec holds the slot */
    int tid;
    int state;
    int blocked;                /* see BLOCKED/WOKEN/TIMED; set only through slot_set_blocked */
    int in_active;              /* a member of exec->active */
    int wait_kind;              /* GuestThread.wait: 0 none, 1 a Yield, 2 any other wait, 3 a GiveUp */
    void *future;
    /* the preemption counter (counter mode), once the instance exists */
    int has_budget;
    void *context;
    wt_global budget;
    wt_val cell;
    int64_t granted;
    /* The count of atomic operations that changed memory (instrument/atomics.py `__wasmconc_progress`):
     * a change since the last step is progress, as a thread starting or a notify is. */
    int has_progress;
    wt_global progress;
    int32_t last_progress;
    int64_t slice_end_ns;       /* epoch mode: -1 when none */
    int64_t filled_ns;
    /* the native yield in progress */
    int armed_kind, yield_kind, suspended;
    void **trap_ret;
    char *kill;                 /* the message that traps the thread at its next check */
    /* as a futex waiter (the slot is the waiter: a thread waits on one address at a time) */
    uint64_t futex_addr;
    int queued, woken;
    struct SlotObject *fnext, *fprev; /* in its address's queue */
    struct FutexQueue *fqueue;
    int native_wait;            /* parked by the native wait: its width in bytes, else 0 */
    uint64_t wait_expected;
} SlotObject;

/* A quiet point reached (see ExecObject.points): 1 when the caller should
 * yield there, the budget being spent with no progress since the poll began. */
static inline int quiet_point(ExecObject *e) {
    if (!e->count_points)
        return 0;
    e->points++;
    return e->points_left >= 0 && e->points >= e->points_left && !e->progressed;
}

extern PyTypeObject SlotType, ExecType, LaneType;

/* slots.c: state changes (the only writers of state and blocked: they keep the active set) */
int slot_set_state(SlotObject *s, int state);
int slot_set_blocked(SlotObject *s, int blocked);
int slot_assign_future(SlotObject *s, void *future);

/* slots.c: quiet points (ExecObject.points), around each poll */
void exec_begin_points(ExecObject *e, long long steps_left, long long slice);
long long exec_point_steps(ExecObject *e, long long slice);

/* slots.c: the preemption counter of a slot */
int64_t counter_get(SlotObject *s);
int counter_set(SlotObject *s, int64_t value);
int extend_quantum(SlotObject *s, int64_t now);
int begin_quantum(SlotObject *s, int64_t fuel, int64_t slice_end_ns);
int64_t fuel_used(SlotObject *s);
void note_atomic_progress(SlotObject *s);

/* host.c: host functions and continuations */
bool done_continuation(void *env);
bool yield_continuation(void *env);
void arm(SlotObject *s, int kind, void **trap_ret, wt_cont *cont);
void native_host(void *env, void *caller, const wt_val *args, size_t nargs, wt_val *results, size_t nresults,
                 void **trap_ret, wt_cont *cont);
void python_host(void *env, void *caller, const wt_val *args, size_t nargs, wt_val *results, size_t nresults,
                 void **trap_ret, wt_cont *cont);
PyObject *set_python_host(PyObject *mod, PyObject *args);
void binding_finalizer(void *env);        /* a Python binding's (env: its key) */
void native_binding_finalizer(void *env); /* a native host function's (env: key << 8 | kind) */
PyObject *set_bindings(PyObject *mod, PyObject *table);
int64_t caller_thread_id(void *caller);
uint64_t caller_memory_size(void *caller);

/* host.c: a native host function defined through a cell {callback, env} (runtime/native.py) */
void *cell_host(void *env, void *caller, void *args_and_results, size_t n);

/* vmem.c: the virtual memory size (Wasmtime's unchecked host functions) */
void *vmem_size_host(void *env, void *caller, void *args_and_results, size_t n);
void *vmem_grow_host(void *env, void *caller, void *args_and_results, size_t n);
/* The bytes of the shared memory a guest of `e` may touch now (the virtual size, or the real one). */
uint64_t exec_memory_bytes(ExecObject *e);

/* futex.c: the futex table and the native memory.atomic.wait/notify */
int futex_enqueue(ExecObject *e, SlotObject *s, uint64_t addr);
Py_ssize_t futex_wake(ExecObject *e, uint64_t addr, uint64_t count, PyObject *woken);
int futex_cancel(ExecObject *e, SlotObject *s);
void futex_clear(ExecObject *e);
void futex_host(void *env, SlotObject *s, const wt_val *args, wt_val *results, void **trap_ret, wt_cont *cont,
                int *handled);

/* steps.c */
int steps_init(void);
PyObject *native_streams(PyObject *mod, PyObject *unused);
/* The fuel-mode virtual clock while a lane runs: the lane keeps the time in C and writes it to
 * the Python VirtualClock only before Python code can run (the Python entries of host.c, the
 * lane's own calls into Python, its return), and reads it back after (Python may move it). */
void lane_clock_enter_python(void); /* GIL held: publish the running lane's time */
void lane_clock_left_python(void);  /* Python ran: the clock may have moved */

#endif
