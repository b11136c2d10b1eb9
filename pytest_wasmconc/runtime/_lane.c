/* The native lane: the scheduler's hot path in C.
 *
 * A context switch in Python crossed into the interpreter four times (the
 * poll, the host trampoline and two continuation callbacks) plus the driver's
 * own bytecode: about 10 microseconds. Here:
 *
 *  - `Slot`: per guest thread, the state the hot path needs (run state,
 *    future, preemption counter, the yield it is suspended in, the message
 *    that kills it). The Python GuestThread mirrors its state into its slot;
 *    the store's data pointer is the slot's address, so a host call finds
 *    its slot with no lookup.
 *  - Native host functions for the instrumenter's `wasmconc.preempt` and
 *    `wasmconc.sched_point`, with a C continuation that suspends a call once.
 *    Python's YieldAfter results use the same continuation.
 *  - `Lane.run`: the serial driver's step loop for the common stretch, every
 *    live thread runnable, new, or parked on a futex with no timeout (woken
 *    ones are made runnable, new ones started, by Python callbacks) and the
 *    policy round-robin or random. It returns to Python at anything else: a
 *    finished future, another kind of wait, the end, the step budget, the
 *    deadline, Ctrl-C. Python host calls made
 *    during its polls run as usual; what they change that the loop depends
 *    on is mirrored into the slots and the exec (state, waits, spawns, end).
 *
 * Exactness: every step taken here is the step runtime/serial.py would take,
 * and the policies draw from the same Python random streams (getrandbits,
 * the way random.Random.randrange does), so a seed names one schedule with or
 * without the lane (tests/runtime/test_lane.py compares them).
 *
 * Wasmtime's functions are not linked: their addresses come from the
 * wasmtime-py library already loaded by ctypes (`init`).
 */
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

static bool (*p_future_poll)(void *future);
static void *(*p_context_get_data)(void *context);
static void *(*p_caller_context)(void *caller);
static void (*p_global_get)(void *context, const wt_global *g, wt_val *out);
static void *(*p_global_set)(void *context, const wt_global *g, const wt_val *v);
static void *(*p_trap_new)(const char *msg, size_t len);
static void (*p_error_delete)(void *err);

enum { ST_NEW = 0, ST_RUNNABLE = 1, ST_PARKED = 2, ST_FINISHED = 3 };
enum { YIELD_NONE = 0, YIELD_QUANTUM = 1, YIELD_SCHED = 2 };
enum { HOST_PREEMPT = 1, HOST_SCHED_POINT = 2 };
enum { BLOCKED = 1, WOKEN = 2 };
/* SwitchReason, in the order of runtime/serial.py's REASONS. */
enum { R_START = 0, R_PREEMPTED = 1, R_YIELDED = 2, R_BLOCKED = 3, R_SPAWNED = 4, R_EXITED = 5 };
enum { RUN_PYTHON_STEP = 0, RUN_POST_POLL = 1 };
enum { POLICY_RR = 1, POLICY_RANDOM = 2 };

#define SLOT_MAGIC 0x776173636f6e63ULL /* "wasconc" */
#define SOLO_SLICES 256
#define EPOCH_CHECK 50000
#define MIN_REFILL 1000
#define MAX_REFILL (1LL << 32)

static int64_t monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);  /* what time.monotonic_ns reads on Linux */
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *new_trap(const char *msg) { return p_trap_new(msg, strlen(msg)); }

/* ---- Exec: one execution's slots and flags ---- */

struct SlotObject;

typedef struct {
    PyObject_HEAD
    struct SlotObject **slots;  /* strong references, in tid order */
    Py_ssize_t nslots, capacity;
    int serial;
    int ended;                  /* Execution.end is set */
    int spawned;                /* Execution.spawned_in_step */
    PyObject *alone;            /* callable(tid) -> bool, asked when other threads are parked */
    PyObject *wake;             /* callable(tid): Execution.try_wake for a woken futex waiter */
    PyObject *start;            /* callable(tid): GuestThread.start for a new thread */
    char *exit_mark;
} ExecObject;

typedef struct SlotObject {
    PyObject_HEAD
    uint64_t magic;
    ExecObject *exec;           /* borrowed: the exec holds the slot */
    int tid;
    int state;
    int blocked;                /* parked on a futex, no timeout: 1 until a notify, 2 once woken */
    int wait_kind;              /* GuestThread.wait: 0 none, 1 a Yield, 2 any other wait */
    void *future;
    /* the preemption counter (counter mode), once the instance exists */
    int has_budget;
    void *context;
    wt_global budget;
    wt_val cell;
    int64_t granted;
    int64_t slice_end_ns;       /* epoch mode: -1 when none */
    int64_t filled_ns;
    /* the native yield in progress */
    int armed_kind, yield_kind, suspended;
    void **trap_ret;
    char *kill;                 /* the message that traps the thread at its next check */
} SlotObject;

static PyTypeObject SlotType;

/* ---- the counter ---- */

static int64_t counter_get(SlotObject *s) {
    p_global_get(s->context, &s->budget, &s->cell);
    return s->cell.of.i64;
}

static int counter_set(SlotObject *s, int64_t value) {
    s->cell.kind = 1; /* WASMTIME_I64 */
    s->cell.of.i64 = value;
    void *err = p_global_set(s->context, &s->budget, &s->cell);
    if (err) {
        p_error_delete(err);
        return -1;
    }
    return 0;
}

/* GuestThread.extend_quantum: refill for about the time left in the slice. */
static int extend_quantum(SlotObject *s, int64_t now) {
    if (!s->has_budget || s->slice_end_ns < 0)
        return 0;
    int64_t spent = now - s->filled_ns;
    if (spent < 1)
        spent = 1;
    __int128 refill = (__int128)s->granted * (s->slice_end_ns - now) / spent;
    if (refill < MIN_REFILL)
        refill = MIN_REFILL;
    if (refill > MAX_REFILL)
        refill = MAX_REFILL;
    s->granted = (int64_t)refill;
    s->filled_ns = now;
    return counter_set(s, s->granted) == 0;
}

static int begin_quantum(SlotObject *s, int64_t fuel, int64_t slice_end_ns) {
    s->slice_end_ns = slice_end_ns;
    if (slice_end_ns >= 0)
        s->filled_ns = monotonic_ns();
    if (s->has_budget) {
        /* before instantiation ends, the start function uses the initial budget */
        if (counter_set(s, fuel) < 0)
            return -1;
        s->granted = fuel;
    }
    return 0;
}

static int64_t fuel_used(SlotObject *s) { return s->has_budget ? s->granted - counter_get(s) : 0; }

/* ---- native yields ---- */

static bool done_continuation(void *env) { (void)env; return true; }

/* Suspends the call once: the poll returns, the scheduler decides, the next poll resumes it. */
static bool yield_continuation(void *env) {
    SlotObject *s = (SlotObject *)env;
    if (!s->suspended) {
        s->suspended = 1;
        s->yield_kind = s->armed_kind;
        return false;
    }
    s->suspended = 0;
    s->yield_kind = YIELD_NONE;
    if (s->kill && s->trap_ret)
        *s->trap_ret = new_trap(s->kill);
    return true;
}

static void arm(SlotObject *s, int kind, void **trap_ret, wt_cont *cont) {
    s->armed_kind = kind;
    s->trap_ret = trap_ret;
    s->suspended = 0;
    cont->callback = yield_continuation;
    cont->env = s;
    cont->finalizer = NULL;
}

/* Execution.alone for the caller: 1 alone, 0 not, -1 unknown without Python
 * (another thread is parked on something else: its deadline and wait decide). */
static int alone_native(ExecObject *e, SlotObject *self) {
    int unknown = 0;
    for (Py_ssize_t i = 0; i < e->nslots; i++) {
        SlotObject *o = e->slots[i];
        if (o == self || o->state == ST_FINISHED)
            continue;
        if (o->state != ST_PARKED)
            return 0;
        if (o->blocked != BLOCKED)
            unknown = 1;
    }
    return unknown ? -1 : 1;
}

static int alone_python(ExecObject *e, SlotObject *s) {
    PyGILState_STATE g = PyGILState_Ensure();
    int answer = -1;
    if (e->alone) {
        PyObject *r = PyObject_CallFunction(e->alone, "i", s->tid);
        if (r) {
            answer = PyObject_IsTrue(r);
            Py_DECREF(r);
        }
    }
    if (answer < 0) {
        PyErr_WriteUnraisable(e->alone ? e->alone : Py_None);
        answer = 0; /* a scheduling point too many is harmless */
    }
    PyGILState_Release(g);
    return answer;
}

/* wasmtime_func_async_callback_t for wasmconc.preempt / wasmconc.sched_point; env = HOST_* */
static void native_host(void *env, void *caller, const wt_val *args, size_t nargs, wt_val *results,
                        size_t nresults, void **trap_ret, wt_cont *cont) {
    (void)args; (void)nargs; (void)results; (void)nresults;
    cont->callback = done_continuation;
    cont->env = NULL;
    cont->finalizer = NULL;
    SlotObject *s = (SlotObject *)p_context_get_data(p_caller_context(caller));
    if (s == NULL || s->magic != SLOT_MAGIC || s->exec == NULL) {
        *trap_ret = new_trap("wasmconc: host call from a store that is not a live guest thread");
        return;
    }
    if (s->kill) {
        *trap_ret = new_trap(s->kill);
        return;
    }
    ExecObject *e = s->exec;
    if (e->ended) {
        *trap_ret = new_trap(e->exit_mark);
        return;
    }
    if ((intptr_t)env == HOST_PREEMPT) {
        /* the counter ran out: the quantum ends, unless (epoch mode) its slice has time left */
        if (s->slice_end_ns >= 0) {
            int64_t now = monotonic_ns();
            if (now < s->slice_end_ns && extend_quantum(s, now))
                return;
        }
        arm(s, YIELD_QUANTUM, trap_ret, cont);
        return;
    }
    /* sched_point: alone, the scheduler could only pick this thread again */
    if (!e->serial)
        return;
    int alone = alone_native(e, s);
    if (alone < 0)
        alone = alone_python(e, s);
    if (!alone)
        arm(s, YIELD_SCHED, trap_ret, cont);
}

/* ---- Python host functions ----
 * Every other host function is Python, entered here rather than through a
 * ctypes callback (which converts each argument through ctypes' machinery).
 * capi.py's dispatch does the work; see capi._host_call. */

static PyObject *py_host_call;  /* (binding key, store key, args, nargs, results, trap_ret, cont) -> pending key */
static PyObject *py_resume;     /* (pending key) -> bool: finished */
static PyObject *py_finalize;   /* (pending key): the future was deleted first */

static void *call_failed(PyObject *fn, const char *what) {
    PyErr_WriteUnraisable(fn);
    return new_trap(what);
}

static bool pending_continuation(void *env) {
    PyGILState_STATE g = PyGILState_Ensure();
    bool finished = true;
    PyObject *key = PyLong_FromVoidPtr(env);
    PyObject *r = key ? PyObject_CallOneArg(py_resume, key) : NULL;
    Py_XDECREF(key);
    if (r) {
        finished = PyObject_IsTrue(r) != 0;
        Py_DECREF(r);
    } else {
        PyErr_WriteUnraisable(py_resume); /* capi turns every failure into a trap: this is a last resort */
    }
    PyGILState_Release(g);
    return finished;
}

static void pending_finalizer(void *env) {
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *key = PyLong_FromVoidPtr(env);
    PyObject *r = key ? PyObject_CallOneArg(py_finalize, key) : NULL;
    Py_XDECREF(key);
    if (r)
        Py_DECREF(r);
    else
        PyErr_WriteUnraisable(py_finalize);
    PyGILState_Release(g);
}

static void python_host(void *env, void *caller, const wt_val *args, size_t nargs, wt_val *results,
                        size_t nresults, void **trap_ret, wt_cont *cont) {
    (void)nresults;
    cont->callback = done_continuation; /* Python may arm a yield instead */
    cont->env = NULL;
    cont->finalizer = NULL;
    void *store_key = p_context_get_data(p_caller_context(caller));
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *argv[7] = {PyLong_FromVoidPtr(env), PyLong_FromVoidPtr(store_key), PyLong_FromVoidPtr((void *)args),
                         PyLong_FromSize_t(nargs), PyLong_FromVoidPtr(results), PyLong_FromVoidPtr(trap_ret),
                         PyLong_FromVoidPtr(cont)};
    PyObject *r = NULL;
    int ok = 1;
    for (int i = 0; i < 7; i++)
        ok = ok && argv[i] != NULL;
    if (ok)
        r = PyObject_Vectorcall(py_host_call, argv, 7, NULL);
    for (int i = 0; i < 7; i++)
        Py_XDECREF(argv[i]);
    if (!r) {
        *trap_ret = call_failed(py_host_call, "wasmconc: internal error in a host call");
    } else {
        void *pending = PyLong_AsVoidPtr(r);
        Py_DECREF(r);
        if (pending == NULL && PyErr_Occurred()) {
            *trap_ret = call_failed(py_host_call, "wasmconc: internal error in a host call");
        } else if (pending) {
            cont->callback = pending_continuation;
            cont->env = pending;
            cont->finalizer = pending_finalizer;
        }
    }
    PyGILState_Release(g);
}

static PyObject *set_python_host(PyObject *mod, PyObject *args) {
    PyObject *call, *resume, *finalize;
    if (!PyArg_ParseTuple(args, "OOO", &call, &resume, &finalize))
        return NULL;
    Py_XSETREF(py_host_call, Py_NewRef(call));
    Py_XSETREF(py_resume, Py_NewRef(resume));
    Py_XSETREF(py_finalize, Py_NewRef(finalize));
    Py_RETURN_NONE;
}

/* ---- Slot type ---- */

static int slot_init(SlotObject *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"tid", NULL};
    int tid;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "i", names, &tid))
        return -1;
    self->magic = SLOT_MAGIC;
    self->tid = tid;
    self->state = ST_NEW;
    self->slice_end_ns = -1;
    return 0;
}

static void slot_dealloc(SlotObject *self) {
    self->magic = 0;
    PyMem_Free(self->kill);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *slot_address(SlotObject *self, void *closure) {
    (void)closure;
    return PyLong_FromVoidPtr(self);
}

static PyObject *slot_get_future(SlotObject *self, void *closure) {
    (void)closure;
    return PyLong_FromVoidPtr(self->future);
}

static int slot_set_future(SlotObject *self, PyObject *v, void *closure) {
    (void)closure;
    void *p = v == Py_None ? NULL : PyLong_AsVoidPtr(v);
    if (PyErr_Occurred())
        return -1;
    self->future = p;
    return 0;
}

static PyObject *slot_set_kill(SlotObject *self, PyObject *arg) {
    PyMem_Free(self->kill);
    self->kill = NULL;
    if (arg != Py_None) {
        Py_ssize_t n;
        const char *text = PyUnicode_AsUTF8AndSize(arg, &n);
        if (!text)
            return NULL;
        self->kill = PyMem_Malloc(n + 1);
        if (!self->kill)
            return PyErr_NoMemory();
        memcpy(self->kill, text, n + 1);
    }
    Py_RETURN_NONE;
}

static PyObject *slot_set_budget(SlotObject *self, PyObject *args) {
    unsigned long long context;
    Py_buffer g;
    if (!PyArg_ParseTuple(args, "Ky*", &context, &g))
        return NULL;
    if (g.len != (Py_ssize_t)sizeof(wt_global)) {
        PyBuffer_Release(&g);
        PyErr_SetString(PyExc_ValueError, "wasmtime_global_t has an unexpected size");
        return NULL;
    }
    memcpy(&self->budget, g.buf, sizeof(wt_global));
    PyBuffer_Release(&g);
    self->context = (void *)(uintptr_t)context;
    self->has_budget = 1;
    self->granted = counter_get(self); /* nothing used yet */
    Py_RETURN_NONE;
}

static PyObject *slot_clear_budget(SlotObject *self, PyObject *unused) {
    (void)unused;
    self->has_budget = 0;
    self->context = NULL;
    Py_RETURN_NONE;
}

static PyObject *slot_begin_quantum(SlotObject *self, PyObject *args) {
    long long fuel, end;
    if (!PyArg_ParseTuple(args, "LL", &fuel, &end))
        return NULL;
    if (begin_quantum(self, fuel, end) < 0) {
        PyErr_SetString(PyExc_RuntimeError, "wasmconc: cannot set the preemption counter");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *slot_extend_quantum(SlotObject *self, PyObject *arg) {
    long long now = PyLong_AsLongLong(arg);
    if (now == -1 && PyErr_Occurred())
        return NULL;
    return PyBool_FromLong(extend_quantum(self, now));
}

static PyObject *slot_fuel_used(SlotObject *self, PyObject *unused) {
    (void)unused;
    return PyLong_FromLongLong(fuel_used(self));
}

/* Python's YieldAfter results: suspend this call once, like a native yield. */
static PyObject *slot_arm_yield(SlotObject *self, PyObject *args) {
    int kind;
    unsigned long long trap_ret, cont;
    if (!PyArg_ParseTuple(args, "iKK", &kind, &trap_ret, &cont))
        return NULL;
    arm(self, kind, (void **)(uintptr_t)trap_ret, (wt_cont *)(uintptr_t)cont);
    Py_RETURN_NONE;
}

static PyMethodDef slot_methods[] = {
    {"set_kill", (PyCFunction)slot_set_kill, METH_O, "Trap at the next check with this message (None: no more)."},
    {"set_budget", (PyCFunction)slot_set_budget, METH_VARARGS, "(context address, wasmtime_global_t bytes)."},
    {"clear_budget", (PyCFunction)slot_clear_budget, METH_NOARGS, "Forget the counter (the store is gone)."},
    {"begin_quantum", (PyCFunction)slot_begin_quantum, METH_VARARGS, "(fuel, slice end ns or -1)."},
    {"extend_quantum", (PyCFunction)slot_extend_quantum, METH_O, "Epoch mode refill at now_ns; False if none."},
    {"fuel_used", (PyCFunction)slot_fuel_used, METH_NOARGS, "Counter units used since begin_quantum."},
    {"arm_yield", (PyCFunction)slot_arm_yield, METH_VARARGS, "(kind, trap_ret, continuation address)."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef slot_members[] = {
    {"tid", T_INT, offsetof(SlotObject, tid), READONLY, NULL},
    {"state", T_INT, offsetof(SlotObject, state), 0, "0 new, 1 runnable, 2 parked, 3 finished"},
    {"blocked", T_INT, offsetof(SlotObject, blocked), 0, "parked on a futex: 1 until a notify, 2 once woken"},
    {"wait_kind", T_INT, offsetof(SlotObject, wait_kind), 0, "0 no wait, 1 a Yield, 2 another wait"},
    {"yield_kind", T_INT, offsetof(SlotObject, yield_kind), 0, "0 none, 1 quantum end, 2 scheduling point"},
    {"granted", T_LONGLONG, offsetof(SlotObject, granted), READONLY, NULL},
    {"slice_end_ns", T_LONGLONG, offsetof(SlotObject, slice_end_ns), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef slot_getset[] = {
    {"address", (getter)slot_address, NULL, "the store key: this slot's address", NULL},
    {"future", (getter)slot_get_future, (setter)slot_set_future, "address of the call future", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject SlotType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pytest_wasmconc.runtime._lane.Slot",
    .tp_basicsize = sizeof(SlotObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One guest thread's native state.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)slot_init,
    .tp_dealloc = (destructor)slot_dealloc,
    .tp_methods = slot_methods,
    .tp_members = slot_members,
    .tp_getset = slot_getset,
};

/* ---- Exec type ---- */

static int exec_init(ExecObject *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"serial", "alone", "wake", "start", "exit_mark", NULL};
    int serial;
    PyObject *alone, *wake, *start;
    const char *mark;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "pOOOs", names, &serial, &alone, &wake, &start, &mark))
        return -1;
    self->serial = serial;
    Py_XSETREF(self->alone, Py_NewRef(alone));
    Py_XSETREF(self->wake, Py_NewRef(wake));
    Py_XSETREF(self->start, Py_NewRef(start));
    PyMem_Free(self->exit_mark);
    self->exit_mark = PyMem_Malloc(strlen(mark) + 1);
    if (!self->exit_mark) {
        PyErr_NoMemory();
        return -1;
    }
    strcpy(self->exit_mark, mark);
    return 0;
}

static PyObject *exec_add(ExecObject *self, PyObject *arg) {
    if (!PyObject_TypeCheck(arg, &SlotType)) {
        PyErr_SetString(PyExc_TypeError, "expected a Slot");
        return NULL;
    }
    SlotObject *s = (SlotObject *)arg;
    if (s->exec) {
        PyErr_SetString(PyExc_ValueError, "slot already belongs to an execution");
        return NULL;
    }
    if (self->nslots > 0 && self->slots[self->nslots - 1]->tid >= s->tid) {
        PyErr_SetString(PyExc_ValueError, "slots must be added in increasing tid order");
        return NULL;
    }
    if (self->nslots == self->capacity) {
        Py_ssize_t cap = self->capacity ? self->capacity * 2 : 8;
        SlotObject **grown = PyMem_Realloc(self->slots, cap * sizeof(SlotObject *));
        if (!grown)
            return PyErr_NoMemory();
        self->slots = grown;
        self->capacity = cap;
    }
    Py_INCREF(s);
    s->exec = self;
    self->slots[self->nslots++] = s;
    Py_RETURN_NONE;
}

static int exec_clear(ExecObject *self) {
    for (Py_ssize_t i = 0; i < self->nslots; i++) {
        SlotObject *s = self->slots[i];
        s->exec = NULL;
        Py_DECREF(s);
    }
    self->nslots = 0;
    Py_CLEAR(self->alone);
    Py_CLEAR(self->wake);
    Py_CLEAR(self->start);
    return 0;
}

static PyObject *exec_release(ExecObject *self, PyObject *unused) {
    (void)unused;
    exec_clear(self);
    Py_RETURN_NONE;
}

static int exec_traverse(ExecObject *self, visitproc visit, void *arg) {
    Py_VISIT(self->alone);
    Py_VISIT(self->wake);
    Py_VISIT(self->start);
    for (Py_ssize_t i = 0; i < self->nslots; i++)
        Py_VISIT(self->slots[i]);
    return 0;
}

static void exec_dealloc(ExecObject *self) {
    PyObject_GC_UnTrack(self);
    exec_clear(self);
    PyMem_Free(self->slots);
    PyMem_Free(self->exit_mark);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef exec_methods[] = {
    {"add", (PyCFunction)exec_add, METH_O, "Register a thread's slot (in tid order)."},
    {"release", (PyCFunction)exec_release, METH_NOARGS, "Drop every slot and the alone callback."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef exec_members[] = {
    {"ended", T_INT, offsetof(ExecObject, ended), 0, "the execution has an end"},
    {"spawned", T_INT, offsetof(ExecObject, spawned), 0, "a thread was spawned in this step"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject ExecType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pytest_wasmconc.runtime._lane.Exec",
    .tp_basicsize = sizeof(ExecObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "One execution's native state: its slots in tid order.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)exec_init,
    .tp_dealloc = (destructor)exec_dealloc,
    .tp_traverse = (traverseproc)exec_traverse,
    .tp_clear = (inquiry)exec_clear,
    .tp_methods = exec_methods,
    .tp_members = exec_members,
};

/* ---- Lane: the step loop ---- */

typedef struct {
    PyObject_HEAD
    ExecObject *exec;
    int fuel;                   /* fuel mode; else epoch mode on the counter */
    long long slice, tick_ns, max_steps, wall_deadline_ns; /* -1: none */
    int policy;
    long long policy_slice;     /* rr: its slice; random: the execution's scale */
    PyObject *choice_bits, *slice_bits; /* random: the streams' getrandbits */
    PyObject *decisions, *slices;       /* Recording's lists, or None */
    PyObject *clock;            /* VirtualClock (fuel mode) */
    PyObject *interrupted;      /* capi's one-item flag: Ctrl-C seen */
    /* in and out of run() */
    long long steps;
    int current, reason, rr_last;
    long long picks;
    int last_tid, last_solo, last_finished;
    long long last_began_ns;
} LaneObject;

static PyObject *str_now;

static int lane_init(LaneObject *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"execution", "fuel", "slice", "tick_ns", "max_steps", "wall_deadline_ns", "policy",
                            "policy_slice", "choice_bits", "slice_bits", "decisions", "slices", "clock", "interrupted",
                            NULL};
    PyObject *exec, *choice, *slicebits, *decisions, *slices, *clock, *interrupted;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!pLLLLiLOOOOOO!", names, &ExecType, &exec, &self->fuel,
                                     &self->slice, &self->tick_ns, &self->max_steps, &self->wall_deadline_ns,
                                     &self->policy, &self->policy_slice, &choice, &slicebits, &decisions, &slices,
                                     &clock, &PyList_Type, &interrupted))
        return -1;
    if (PyList_GET_SIZE(interrupted) != 1) {
        PyErr_SetString(PyExc_ValueError, "interrupted must be a one-item list");
        return -1;
    }
    if (self->policy != POLICY_RR && self->policy != POLICY_RANDOM) {
        PyErr_SetString(PyExc_ValueError, "unknown native policy");
        return -1;
    }
    if (self->slice < 1 || self->policy_slice < 1 || (!self->fuel && self->tick_ns < 1)) {
        PyErr_SetString(PyExc_ValueError, "slice, policy_slice and tick_ns must be >= 1");
        return -1;
    }
    Py_XSETREF(self->exec, (ExecObject *)Py_NewRef(exec));
    Py_XSETREF(self->choice_bits, Py_NewRef(choice));
    Py_XSETREF(self->slice_bits, Py_NewRef(slicebits));
    Py_XSETREF(self->decisions, Py_NewRef(decisions));
    Py_XSETREF(self->slices, Py_NewRef(slices));
    Py_XSETREF(self->clock, Py_NewRef(clock));
    Py_XSETREF(self->interrupted, Py_NewRef(interrupted));
    self->current = -1;
    self->rr_last = -1;
    return 0;
}

static int lane_clear(LaneObject *self) {
    Py_CLEAR(self->exec);
    Py_CLEAR(self->choice_bits);
    Py_CLEAR(self->slice_bits);
    Py_CLEAR(self->decisions);
    Py_CLEAR(self->slices);
    Py_CLEAR(self->clock);
    Py_CLEAR(self->interrupted);
    return 0;
}

static int lane_traverse(LaneObject *self, visitproc visit, void *arg) {
    Py_VISIT(self->exec);
    Py_VISIT(self->choice_bits);
    Py_VISIT(self->slice_bits);
    Py_VISIT(self->decisions);
    Py_VISIT(self->slices);
    Py_VISIT(self->clock);
    Py_VISIT(self->interrupted);
    return 0;
}

static void lane_dealloc(LaneObject *self) {
    PyObject_GC_UnTrack(self);
    lane_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* random.Random.randrange(n) for n >= 1: getrandbits(n.bit_length()) until below n. */
static long long rand_below(PyObject *getrandbits, long long n) {
    int k = 0;
    for (unsigned long long v = (unsigned long long)n; v; v >>= 1)
        k++;
    PyObject *bits = PyLong_FromLong(k);
    if (!bits)
        return -1;
    long long r;
    do {
        PyObject *o = PyObject_CallOneArg(getrandbits, bits);
        if (!o) {
            Py_DECREF(bits);
            return -1;
        }
        r = PyLong_AsLongLong(o);
        Py_DECREF(o);
        if (r == -1 && PyErr_Occurred()) {
            Py_DECREF(bits);
            return -1;
        }
    } while (r >= n);
    Py_DECREF(bits);
    return r;
}

static int append_int(PyObject *list, long long v) {
    if (list == Py_None)
        return 0;
    PyObject *o = PyLong_FromLongLong(v);
    if (!o)
        return -1;
    int rc = PyList_Append(list, o);
    Py_DECREF(o);
    return rc;
}

/* Policy.pick over the runnable slots (n >= 2), then Recording's note of it. */
static int pick(LaneObject *L, SlotObject **run, Py_ssize_t n, int current) {
    int in_runnable = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (run[i]->tid == current)
            in_runnable = 1;
    int choice;
    L->picks++;
    if (L->policy == POLICY_RR) {
        int position = in_runnable ? current : L->rr_last;
        choice = run[0]->tid;
        if (position >= 0)
            for (Py_ssize_t i = 0; i < n; i++)
                if (run[i]->tid > position) {
                    choice = run[i]->tid;
                    break;
                }
        L->rr_last = choice;
    } else {
        long long i = rand_below(L->choice_bits, n);
        if (i < 0)
            return -1;
        choice = run[i]->tid;
    }
    if (append_int(L->decisions, choice) < 0)
        return -1;
    return choice;
}

static long long slice_for(LaneObject *L) {
    long long q;
    if (L->policy == POLICY_RR) {
        q = L->policy_slice;
    } else {
        long long r = rand_below(L->slice_bits, 2 * L->policy_slice - 1);
        if (r < 0)
            return -1;
        q = 1 + r;
    }
    if (append_int(L->slices, q) < 0)
        return -1;
    return q;
}

static int advance_clock(PyObject *clock, long long used) {
    PyObject *now = PyObject_GetAttr(clock, str_now);
    if (!now)
        return -1;
    PyObject *delta = PyLong_FromLongLong(used);
    if (!delta) {
        Py_DECREF(now);
        return -1;
    }
    PyObject *sum = PyNumber_Add(now, delta);
    Py_DECREF(now);
    Py_DECREF(delta);
    if (!sum)
        return -1;
    int rc = PyObject_SetAttr(clock, str_now, sum);
    Py_DECREF(sum);
    return rc;
}

static int call_tid(PyObject *fn, int tid) {
    if (!fn) {
        PyErr_SetString(PyExc_RuntimeError, "wasmconc: internal error: the execution was released");
        return -1;
    }
    PyObject *r = PyObject_CallFunction(fn, "i", tid);
    if (!r)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* Steps while every live thread is runnable; see the module comment for when it returns. */
static PyObject *lane_run(LaneObject *L, PyObject *unused) {
    (void)unused;
    ExecObject *e = L->exec;
    SlotObject *stack_run[16];
    SlotObject **run = stack_run;
    if (e->nslots > 16) {
        run = PyMem_Malloc(e->nslots * sizeof(SlotObject *));
        if (!run)
            return PyErr_NoMemory();
    }
    PyObject *result = NULL;
    int code = RUN_PYTHON_STEP;
    for (;;) {
        if (e->ended)
            break;
        if (L->wall_deadline_ns >= 0 && monotonic_ns() >= L->wall_deadline_ns)
            break;
        /* serial._runnable: a blocked thread stays parked until a notify;
         * a woken one is made runnable by Python's try_wake; any other parked
         * thread (a deadline, another kind of wait) needs Python to decide */
        Py_ssize_t n = 0;
        int eligible = 1;
        for (Py_ssize_t i = 0; i < e->nslots; i++) {
            SlotObject *s = e->slots[i];
            if (s->state == ST_FINISHED || (s->state == ST_PARKED && s->blocked == BLOCKED))
                continue;
            if (s->state == ST_PARKED && s->blocked == WOKEN) {
                if (call_tid(e->wake, s->tid) < 0)
                    goto fail;
            }
            if (s->state == ST_NEW || (s->state == ST_RUNNABLE && s->future != NULL)) {
                run[n++] = s;
                continue;
            }
            eligible = 0;
            break;
        }
        if (!eligible || n == 0)
            break;
        if (L->max_steps >= 0 && L->steps >= L->max_steps)
            break;
        L->steps++;
        int solo = n == 1; /* Execution.alone: every other live thread is blocked */
        SlotObject *t = run[0];
        if (!solo) {
            int tid = pick(L, run, n, L->current);
            if (tid < 0)
                goto fail;
            for (Py_ssize_t i = 0; i < n; i++)
                if (run[i]->tid == tid)
                    t = run[i];
        }
        if (t->state == ST_NEW && call_tid(e->start, t->tid) < 0)
            goto fail;
        if (t->future == NULL) {
            PyErr_SetString(PyExc_RuntimeError, "wasmconc: internal error: a started thread has no future");
            goto fail;
        }
        long long began = 0;
        if (L->fuel) {
            long long q = solo ? L->slice * SOLO_SLICES : slice_for(L);
            if (q < 0)
                goto fail;
            if (begin_quantum(t, q, -1) < 0)
                goto counter_fail;
        } else {
            began = monotonic_ns();
            if (begin_quantum(t, EPOCH_CHECK, began + L->tick_ns * (solo ? SOLO_SLICES : 1)) < 0)
                goto counter_fail;
        }
        e->spawned = 0;
        bool finished;
        Py_BEGIN_ALLOW_THREADS
        finished = p_future_poll(t->future);
        Py_END_ALLOW_THREADS
        L->current = t->tid;
        if (finished || PyList_GET_ITEM(L->interrupted, 0) != Py_False) {
            /* Python finishes this step: the future's outcome (or the interrupt) */
            L->last_tid = t->tid;
            L->last_solo = solo;
            L->last_began_ns = began;
            L->last_finished = finished;
            code = RUN_POST_POLL;
            break;
        }
        if (L->fuel) {
            long long used = fuel_used(t);
            if (used > 0) {
                if (advance_clock(L->clock, used) < 0)
                    goto fail;
                if (solo && used / L->slice > 1)
                    L->steps += used / L->slice - 1;
            }
        } else if (solo) {
            long long ticks = (monotonic_ns() - began) / L->tick_ns;
            if (ticks > 1)
                L->steps += ticks - 1;
        }
        /* serial._after_poll's reason: Python host calls may have run during
         * the poll; what they changed is mirrored in the slots and the exec */
        if (t->wait_kind == 2)
            L->reason = R_BLOCKED;
        else if (t->wait_kind == 1 || t->yield_kind == YIELD_SCHED)
            L->reason = e->spawned ? R_SPAWNED : R_YIELDED;
        else
            L->reason = R_PREEMPTED;
        if (PyErr_CheckSignals() < 0)
            goto fail;
        if (PyList_GET_ITEM(L->interrupted, 0) != Py_False)
            break; /* interrupted: the next poll, in Python, raises */
    }
    result = PyLong_FromLong(code);
    goto out;
counter_fail:
    PyErr_SetString(PyExc_RuntimeError, "wasmconc: cannot set the preemption counter");
fail:
    result = NULL;
out:
    if (run != stack_run)
        PyMem_Free(run);
    return result;
}

static PyMethodDef lane_methods[] = {
    {"run", (PyCFunction)lane_run, METH_NOARGS,
     "Take steps; 0: Python takes the next step, 1: Python finishes the step of last_tid."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef lane_members[] = {
    {"steps", T_LONGLONG, offsetof(LaneObject, steps), 0, NULL},
    {"current", T_INT, offsetof(LaneObject, current), 0, "-1: none"},
    {"reason", T_INT, offsetof(LaneObject, reason), 0, NULL},
    {"rr_last", T_INT, offsetof(LaneObject, rr_last), 0, "-1: none"},
    {"picks", T_LONGLONG, offsetof(LaneObject, picks), 0, NULL},
    {"last_tid", T_INT, offsetof(LaneObject, last_tid), READONLY, NULL},
    {"last_solo", T_INT, offsetof(LaneObject, last_solo), READONLY, NULL},
    {"last_finished", T_INT, offsetof(LaneObject, last_finished), READONLY, NULL},
    {"last_began_ns", T_LONGLONG, offsetof(LaneObject, last_began_ns), READONLY, NULL},
    {"wall_deadline_ns", T_LONGLONG, offsetof(LaneObject, wall_deadline_ns), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject LaneType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pytest_wasmconc.runtime._lane.Lane",
    .tp_basicsize = sizeof(LaneObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The serial driver's step loop for one execution.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)lane_init,
    .tp_dealloc = (destructor)lane_dealloc,
    .tp_traverse = (traverseproc)lane_traverse,
    .tp_clear = (inquiry)lane_clear,
    .tp_methods = lane_methods,
    .tp_members = lane_members,
};

/* ---- module ---- */

static PyObject *lane_module_init(PyObject *mod, PyObject *args) {
    unsigned long long a[7];
    if (!PyArg_ParseTuple(args, "KKKKKKK", &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6]))
        return NULL;
    for (int i = 0; i < 7; i++)
        if (!a[i]) {
            PyErr_SetString(PyExc_ValueError, "null function address");
            return NULL;
        }
    p_future_poll = (bool (*)(void *))(uintptr_t)a[0];
    p_context_get_data = (void *(*)(void *))(uintptr_t)a[1];
    p_caller_context = (void *(*)(void *))(uintptr_t)a[2];
    p_global_get = (void (*)(void *, const wt_global *, wt_val *))(uintptr_t)a[3];
    p_global_set = (void *(*)(void *, const wt_global *, const wt_val *))(uintptr_t)a[4];
    p_trap_new = (void *(*)(const char *, size_t))(uintptr_t)a[5];
    p_error_delete = (void (*)(void *))(uintptr_t)a[6];
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"set_python_host", set_python_host, METH_VARARGS,
     "(call, resume, finalize): the Python side of every non-native host function."},
    {"init", lane_module_init, METH_VARARGS,
     "(future_poll, context_get_data, caller_context, global_get, global_set, trap_new, error_delete) addresses."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef lane_module = {
    PyModuleDef_HEAD_INIT, "_lane", "The scheduler's native hot path (see _lane.c).", -1, module_methods,
};

PyMODINIT_FUNC PyInit__lane(void) {
    if (PyType_Ready(&SlotType) < 0 || PyType_Ready(&ExecType) < 0 || PyType_Ready(&LaneType) < 0)
        return NULL;
    str_now = PyUnicode_InternFromString("_now");
    if (!str_now)
        return NULL;
    PyObject *m = PyModule_Create(&lane_module);
    if (!m)
        return NULL;
    if (PyModule_AddObjectRef(m, "Slot", (PyObject *)&SlotType) < 0 ||
        PyModule_AddObjectRef(m, "Exec", (PyObject *)&ExecType) < 0 ||
        PyModule_AddObjectRef(m, "Lane", (PyObject *)&LaneType) < 0 ||
        PyModule_AddObject(m, "NATIVE_HOST", PyLong_FromVoidPtr((void *)native_host)) < 0 ||
        PyModule_AddObject(m, "PYTHON_HOST", PyLong_FromVoidPtr((void *)python_host)) < 0 ||
        PyModule_AddObject(m, "YIELD_CONTINUATION", PyLong_FromVoidPtr((void *)yield_continuation)) < 0 ||
        PyModule_AddIntConstant(m, "HOST_PREEMPT", HOST_PREEMPT) < 0 ||
        PyModule_AddIntConstant(m, "HOST_SCHED_POINT", HOST_SCHED_POINT) < 0 ||
        PyModule_AddIntConstant(m, "YIELD_QUANTUM", YIELD_QUANTUM) < 0 ||
        PyModule_AddIntConstant(m, "BLOCKED", BLOCKED) < 0 ||
        PyModule_AddIntConstant(m, "WOKEN", WOKEN) < 0 ||
        PyModule_AddIntConstant(m, "YIELD_SCHED", YIELD_SCHED) < 0 ||
        PyModule_AddIntConstant(m, "POLICY_RR", POLICY_RR) < 0 ||
        PyModule_AddIntConstant(m, "POLICY_RANDOM", POLICY_RANDOM) < 0 ||
        PyModule_AddIntConstant(m, "RUN_PYTHON_STEP", RUN_PYTHON_STEP) < 0 ||
        PyModule_AddIntConstant(m, "RUN_POST_POLL", RUN_POST_POLL) < 0 ||
        PyModule_AddIntConstant(m, "SOLO_SLICES", SOLO_SLICES) < 0 ||
        PyModule_AddIntConstant(m, "EPOCH_CHECK", EPOCH_CHECK) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
