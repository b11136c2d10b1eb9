/* One guest thread's native state (Slot) and one execution's (Exec). */
#include "lane.h"

/* ---- state changes and the active set ---- */

static int wants_active(SlotObject *s) {
    if (s->state == ST_FINISHED)
        return 0;
    return !(s->state == ST_PARKED && (s->blocked == BLOCKED || s->blocked == TIMED));
}

/* Binary search of the active set (tid order): the index of `tid`, or where it goes. */
static Py_ssize_t active_position(ExecObject *e, int tid) {
    Py_ssize_t lo = 0, hi = e->nactive;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if (e->active[mid]->tid < tid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int active_insert(ExecObject *e, SlotObject *s) {
    if (e->nactive == e->active_capacity) {
        Py_ssize_t cap = e->active_capacity ? e->active_capacity * 2 : 16;
        SlotObject **grown = PyMem_Realloc(e->active, cap * sizeof(SlotObject *));
        if (!grown) {
            PyErr_NoMemory();
            return -1;
        }
        e->active = grown;
        e->active_capacity = cap;
    }
    Py_ssize_t i = active_position(e, s->tid);
    memmove(e->active + i + 1, e->active + i, (e->nactive - i) * sizeof(SlotObject *));
    e->active[i] = s;
    e->nactive++;
    s->in_active = 1;
    return 0;
}

static void active_remove(ExecObject *e, SlotObject *s) {
    Py_ssize_t i = active_position(e, s->tid);
    if (i < e->nactive && e->active[i] == s) {
        memmove(e->active + i, e->active + i + 1, (e->nactive - i - 1) * sizeof(SlotObject *));
        e->nactive--;
    }
    s->in_active = 0;
}

/* The counts and the active set, from `s`'s state and blocked; `sign` -1 takes its part out, +1 puts it in. */
static int stalled(SlotObject *s) {
    return wants_active(s) && !(s->state == ST_NEW || (s->state == ST_RUNNABLE && s->future != NULL));
}

static void account(ExecObject *e, SlotObject *s, int sign) {
    e->nstalled += sign * stalled(s);
    e->nlive += sign * (s->state != ST_FINISHED);
    e->nparked += sign * (s->state == ST_PARKED);
    e->ntimed += sign * (s->state == ST_PARKED && s->blocked == TIMED);
}

static int resync(SlotObject *s, int *field, int value) {
    ExecObject *e = s->exec;
    if (!e) {
        *field = value;
        return 0;
    }
    account(e, s, -1);
    *field = value;
    account(e, s, +1);
    int want = wants_active(s);
    if (want && !s->in_active)
        return active_insert(e, s);
    if (!want && s->in_active)
        active_remove(e, s);
    return 0;
}

int slot_set_state(SlotObject *s, int state) { return resync(s, &s->state, state); }

int slot_assign_future(SlotObject *s, void *future) {
    if (s->exec)
        account(s->exec, s, -1);
    s->future = future;
    if (s->exec)
        account(s->exec, s, +1);
    return 0;
}
int slot_set_blocked(SlotObject *s, int blocked) { return resync(s, &s->blocked, blocked); }

/* ---- quiet points ---- */

/* Before a poll: no quiet points yet, and how many would spend the `steps_left` steps
 * of the budget (-1: no budget) on top of the charge already carried. */
void exec_begin_points(ExecObject *e, long long steps_left, long long slice) {
    e->points = 0;
    e->points_left = -1;
    if (!e->count_points || steps_left < 0)
        return;
    __int128 fuel = (__int128)steps_left * slice - e->point_fuel;
    __int128 n = fuel <= 0 ? 0 : (fuel + QUIET_POINT_COST - 1) / QUIET_POINT_COST;
    if (n < (__int128)LLONG_MAX)
        e->points_left = (long long)n;
}

/* After a poll: the whole steps its quiet points add (the rest is carried). */
long long exec_point_steps(ExecObject *e, long long slice) {
    if (!e->points)
        return 0;
    __int128 fuel = (__int128)e->points * QUIET_POINT_COST + e->point_fuel;
    e->points = 0;
    e->point_fuel = (long long)(fuel % slice);
    return (long long)(fuel / slice);
}

/* ---- the counter ---- */

int64_t counter_get(SlotObject *s) {
    p_global_get(s->context, &s->budget, &s->cell);
    return s->cell.of.i64;
}

int counter_set(SlotObject *s, int64_t value) {
    s->cell.kind = 1; /* WASMTIME_I64 */
    s->cell.of.i64 = value;
    void *err = p_global_set(s->context, &s->budget, &s->cell);
    if (err) {
        p_error_delete(err);
        return -1;
    }
    return 0;
}

/* Epoch mode, inside the preempt check with time left in the slice: refill for about that time. */
int extend_quantum(SlotObject *s, int64_t now) {
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

int begin_quantum(SlotObject *s, int64_t fuel, int64_t slice_end_ns) {
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

int64_t fuel_used(SlotObject *s) { return s->has_budget ? s->granted - counter_get(s) : 0; }

static int32_t progress_get(SlotObject *s) {
    wt_val v;
    p_global_get(s->context, &s->progress, &v);
    return v.of.i32;
}

/* After a step of `s`: its atomics that changed memory since the last one are progress (lock-free work
 * makes its progress only so: 20 threads x 200,000 compare-exchange increments were a hang verdict). */
void note_atomic_progress(SlotObject *s) {
    if (!s->has_progress || !s->has_budget)
        return;
    int32_t now = progress_get(s);
    if (now != s->last_progress) {
        s->last_progress = now;
        if (s->exec)
            s->exec->progressed = 1;
    }
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
    return slot_assign_future(self, p);
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

/* Copy a wasmtime_global_t handle from its bytes (calls.export_global_bytes); -1 with an error set. */
static int global_from_bytes(PyObject *bytes, wt_global *out) {
    Py_buffer g;
    if (PyObject_GetBuffer(bytes, &g, PyBUF_SIMPLE) < 0)
        return -1;
    int ok = g.len == (Py_ssize_t)sizeof(wt_global);
    if (ok)
        memcpy(out, g.buf, sizeof(wt_global));
    PyBuffer_Release(&g);
    if (!ok)
        PyErr_SetString(PyExc_ValueError, "wasmtime_global_t has an unexpected size");
    return ok ? 0 : -1;
}

static PyObject *slot_set_budget(SlotObject *self, PyObject *args) {
    unsigned long long context;
    PyObject *handle;
    if (!PyArg_ParseTuple(args, "KO", &context, &handle) || global_from_bytes(handle, &self->budget) < 0)
        return NULL;
    self->context = (void *)(uintptr_t)context;
    self->has_budget = 1;
    self->granted = counter_get(self); /* nothing used yet */
    Py_RETURN_NONE;
}

/* set_progress(global bytes): the instance's progress count (after set_budget: the same context). */
static PyObject *slot_set_progress(SlotObject *self, PyObject *arg) {
    if (global_from_bytes(arg, &self->progress) < 0)
        return NULL;
    if (!self->has_budget) {
        PyErr_SetString(PyExc_RuntimeError, "set_progress before set_budget");
        return NULL;
    }
    self->has_progress = 1;
    self->last_progress = progress_get(self);
    Py_RETURN_NONE;
}

static PyObject *slot_clear_budget(SlotObject *self, PyObject *unused) {
    (void)unused;
    self->has_progress = 0;
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

static PyObject *slot_fuel_used(SlotObject *self, PyObject *unused) {
    (void)unused;
    note_atomic_progress(self); /* the Python step loop asks this once per step, as the lane's does below */
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
    {"set_progress", (PyCFunction)slot_set_progress, METH_O, "(wasmtime_global_t bytes) of the progress count."},
    {"begin_quantum", (PyCFunction)slot_begin_quantum, METH_VARARGS, "(fuel, slice end ns or -1)."},
    {"fuel_used", (PyCFunction)slot_fuel_used, METH_NOARGS, "Counter units used since begin_quantum."},
    {"arm_yield", (PyCFunction)slot_arm_yield, METH_VARARGS, "(kind, trap_ret, continuation address)."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef slot_members[] = {
    {"tid", T_INT, offsetof(SlotObject, tid), READONLY, NULL},
    {"wait_kind", T_INT, offsetof(SlotObject, wait_kind), 0, "0 no wait, 1 a Yield, 2 another wait, 3 a GiveUp"},
    {"woken", T_INT, offsetof(SlotObject, woken), READONLY, "as a futex waiter: a notify woke it"},
    {"queued", T_INT, offsetof(SlotObject, queued), READONLY, "as a futex waiter: still in the queue"},
    {"native_wait", T_INT, offsetof(SlotObject, native_wait), READONLY, "parked by the native wait: its width"},
    {"futex_addr", T_ULONGLONG, offsetof(SlotObject, futex_addr), READONLY, NULL},
    {"wait_expected", T_ULONGLONG, offsetof(SlotObject, wait_expected), READONLY, NULL},
    {"yield_kind", T_INT, offsetof(SlotObject, yield_kind), 0, "0 none, 1 quantum end, 2 scheduling point"},
    {"suspended", T_INT, offsetof(SlotObject, suspended), READONLY,
     "the call is suspended in a native continuation (a yield or a futex wait): resuming it checks kill"},
    {NULL, 0, 0, 0, NULL},
};

static PyObject *slot_get_state(SlotObject *self, void *closure) {
    (void)closure;
    return PyLong_FromLong(self->state);
}

static PyObject *slot_get_blocked(SlotObject *self, void *closure) {
    (void)closure;
    return PyLong_FromLong(self->blocked);
}

static int set_int_field(SlotObject *self, PyObject *v, int lo, int hi, int (*setter)(SlotObject *, int)) {
    long x = v ? PyLong_AsLong(v) : -1;
    if (x == -1 && PyErr_Occurred())
        return -1;
    if (x < lo || x > hi) {
        PyErr_SetString(PyExc_ValueError, "slot field out of range");
        return -1;
    }
    return setter(self, (int)x);
}

static int slot_put_state(SlotObject *self, PyObject *v, void *closure) {
    (void)closure;
    return set_int_field(self, v, ST_NEW, ST_FINISHED, slot_set_state);
}

static int slot_put_blocked(SlotObject *self, PyObject *v, void *closure) {
    (void)closure;
    return set_int_field(self, v, 0, TIMED, slot_set_blocked);
}

static PyGetSetDef slot_getset[] = {
    {"state", (getter)slot_get_state, (setter)slot_put_state, "0 new, 1 runnable, 2 parked, 3 finished", NULL},
    {"blocked", (getter)slot_get_blocked, (setter)slot_put_blocked,
     "parked: 1 on a futex until a notify, 2 notified, 3 until a notify or its deadline", NULL},
    {"address", (getter)slot_address, NULL, "the store key: this slot's address", NULL},
    {"future", (getter)slot_get_future, (setter)slot_set_future, "address of the call future", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject SlotType = {
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
    self->vmem_pages = -1;
    self->next_deadline_ns = -1;
    self->points_left = -1;
    self->point_fuel = 0;
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
    account(self, s, +1);
    if (wants_active(s) && active_insert(self, s) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static int exec_clear(ExecObject *self) {
    futex_clear(self);
    for (Py_ssize_t i = 0; i < self->nslots; i++) {
        SlotObject *s = self->slots[i];
        s->exec = NULL;
        s->in_active = 0;
        Py_DECREF(s);
    }
    self->nslots = 0;
    self->nactive = 0;
    self->nlive = self->nparked = self->ntimed = self->nstalled = 0;
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
    PyMem_Free(self->active);
    PyMem_Free(self->exit_mark);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static SlotObject *slot_arg(PyObject *o) {
    if (!PyObject_TypeCheck(o, &SlotType)) {
        PyErr_SetString(PyExc_TypeError, "expected a Slot");
        return NULL;
    }
    return (SlotObject *)o;
}

static PyObject *exec_futex_enqueue(ExecObject *self, PyObject *args) {
    PyObject *o;
    unsigned long long addr;
    if (!PyArg_ParseTuple(args, "OK", &o, &addr))
        return NULL;
    SlotObject *s = slot_arg(o);
    if (!s)
        return NULL;
    if (s->exec != self) {
        PyErr_SetString(PyExc_ValueError, "the slot belongs to another execution");
        return NULL;
    }
    if (futex_enqueue(self, s, addr) < 0)
        return PyErr_NoMemory();
    return Py_NewRef(o);
}

static PyObject *exec_futex_wake(ExecObject *self, PyObject *args) {
    unsigned long long addr, count;
    if (!PyArg_ParseTuple(args, "KK", &addr, &count))
        return NULL;
    PyObject *woken = PyList_New(0);
    if (!woken)
        return NULL;
    if (futex_wake(self, addr, count, woken) < 0) {
        Py_DECREF(woken);
        return NULL;
    }
    return woken;
}

static PyObject *exec_futex_cancel(ExecObject *self, PyObject *o) {
    SlotObject *s = slot_arg(o);
    if (!s)
        return NULL;
    return PyBool_FromLong(s->exec == self && futex_cancel(self, s));
}

static PyObject *exec_futex_waiting(ExecObject *self, PyObject *unused) {
    (void)unused;
    return PyLong_FromSsize_t(self->fwaiting);
}

static PyObject *exec_set_memory(ExecObject *self, PyObject *args) {
    unsigned long long base, size, handle;
    if (!PyArg_ParseTuple(args, "KKK", &base, &size, &handle))
        return NULL;
    self->mem_base = (char *)(uintptr_t)base;
    self->mem_size = size;
    self->shared_memory = (void *)(uintptr_t)handle;
    Py_RETURN_NONE;
}

static PyObject *exec_active(ExecObject *self, PyObject *unused) {
    (void)unused;
    PyObject *out = PyList_New(self->nactive);
    if (!out)
        return NULL;
    for (Py_ssize_t i = 0; i < self->nactive; i++)
        PyList_SET_ITEM(out, i, PyLong_FromLong(self->active[i]->tid));
    return out;
}

static PyObject *exec_py_begin_points(ExecObject *self, PyObject *args) {
    long long steps_left, slice;
    if (!PyArg_ParseTuple(args, "LL", &steps_left, &slice))
        return NULL;
    if (slice < 1) {
        PyErr_SetString(PyExc_ValueError, "slice must be >= 1");
        return NULL;
    }
    exec_begin_points(self, steps_left, slice);
    Py_RETURN_NONE;
}

static PyObject *exec_py_point_steps(ExecObject *self, PyObject *arg) {
    long long slice = PyLong_AsLongLong(arg);
    if (slice == -1 && PyErr_Occurred())
        return NULL;
    if (slice < 1) {
        PyErr_SetString(PyExc_ValueError, "slice must be >= 1");
        return NULL;
    }
    return PyLong_FromLongLong(exec_point_steps(self, slice));
}

static PyObject *exec_py_quiet_point(ExecObject *self, PyObject *unused) {
    (void)unused;
    return PyBool_FromLong(quiet_point(self));
}

static PyMethodDef exec_methods[] = {
    {"begin_points", (PyCFunction)exec_py_begin_points, METH_VARARGS,
     "(steps left in the budget or -1, slice): before a poll, as the lane does."},
    {"point_steps", (PyCFunction)exec_py_point_steps, METH_O,
     "(slice): after a poll, the whole steps its quiet points add."},
    {"quiet_point", (PyCFunction)exec_py_quiet_point, METH_NOARGS,
     "Count a quiet point; True: yield there (the budget is spent)."},
    {"active", (PyCFunction)exec_active, METH_NOARGS,
     "The tids of the live threads that are not blocked or timed-parked, in order."},
    {"add", (PyCFunction)exec_add, METH_O, "Register a thread's slot (in tid order)."},
    {"futex_enqueue", (PyCFunction)exec_futex_enqueue, METH_VARARGS, "(slot, addr): queue; returns the slot."},
    {"futex_wake", (PyCFunction)exec_futex_wake, METH_VARARGS, "(addr, count): the slots woken, oldest first."},
    {"futex_cancel", (PyCFunction)exec_futex_cancel, METH_O, "Dequeue a waiter; False if already woken."},
    {"futex_waiting", (PyCFunction)exec_futex_waiting, METH_NOARGS, "How many waiters are queued."},
    {"set_memory", (PyCFunction)exec_set_memory, METH_VARARGS,
     "(base address, size, wasmtime_sharedmemory_t address) of the shared memory."},
    {"release", (PyCFunction)exec_release, METH_NOARGS, "Drop every slot and the alone callback."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef exec_members[] = {
    {"ended", T_INT, offsetof(ExecObject, ended), 0, "the execution has an end"},
    {"spawned", T_INT, offsetof(ExecObject, spawned), 0, "a thread was spawned in this step"},
    {"native_futex", T_INT, offsetof(ExecObject, native_futex), 0, "wait/notify may run without Python"},
    {"serial", T_INT, offsetof(ExecObject, serial), READONLY, "a serial mode (not OS threads)"},
    {"progressed", T_INT, offsetof(ExecObject, progressed), 0, "progress since the step loop last looked"},
    {"idle_since", T_LONGLONG, offsetof(ExecObject, idle_since), 0, "the step of the last progress"},
    {"count_points", T_INT, offsetof(ExecObject, count_points), 0, "quiet points count toward the step budget"},
    {"points", T_LONGLONG, offsetof(ExecObject, points), READONLY, "quiet points in the current poll"},
    {"nlive", T_PYSSIZET, offsetof(ExecObject, nlive), READONLY, "threads not finished"},
    {"nparked", T_PYSSIZET, offsetof(ExecObject, nparked), READONLY, "threads parked"},
    {"ntimed", T_PYSSIZET, offsetof(ExecObject, ntimed), READONLY, "threads parked with a deadline (TIMED)"},
    {"nstalled", T_PYSSIZET, offsetof(ExecObject, nstalled), READONLY, "active threads the lane cannot run as they are"},
    {"nactive", T_PYSSIZET, offsetof(ExecObject, nactive), READONLY, "size of the active set"},
    {"vmem_pages", T_LONGLONG, offsetof(ExecObject, vmem_pages), 0,
     "the memory's size as the guest sees it, in pages (vmem.c); -1: the real size"},
    {"vmem_max", T_LONGLONG, offsetof(ExecObject, vmem_max), 0, "the memory's declared maximum, in pages"},
    {"next_deadline_ns", T_LONGLONG, offsetof(ExecObject, next_deadline_ns), 0,
     "earliest deadline of the driver's timer heap (-1: none); the lane stops there"},
    {NULL, 0, 0, 0, NULL},
};

PyTypeObject ExecType = {
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

