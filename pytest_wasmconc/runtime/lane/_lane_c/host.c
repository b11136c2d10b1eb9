/* Host functions without Python (preempt, sched_point), the one-shot yield, and the
 * entry of every Python host function. */
#include "lane.h"

/* ---- native yields ---- */

bool done_continuation(void *env) { (void)env; return true; }

/* Suspends the call once: the poll returns, the scheduler decides, the next poll resumes it. */
bool yield_continuation(void *env) {
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

void arm(SlotObject *s, int kind, void **trap_ret, wt_cont *cont) {
    s->armed_kind = kind;
    s->trap_ret = trap_ret;
    s->suspended = 0;
    cont->callback = yield_continuation;
    cont->env = s;
    cont->finalizer = NULL;
}

/* Execution.alone for the caller: 1 alone, 0 not, -1 unknown without Python
 * (another thread is parked on something else: its wait decides). Blocked
 * threads are not in the active set; a timed-parked one may wake on its own. */
static int alone_native(ExecObject *e, SlotObject *self) {
    if (e->ntimed > 0)
        return 0;
    int unknown = 0;
    for (Py_ssize_t i = 0; i < e->nactive; i++) {
        SlotObject *o = e->active[i];
        if (o == self)
            continue;
        if (o->state != ST_PARKED)
            return 0;
        unknown = 1;
    }
    return unknown ? -1 : 1;
}

static int alone_python(ExecObject *e, SlotObject *s) {
    PyGILState_STATE g = PyGILState_Ensure();
    lane_clock_enter_python();
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
    lane_clock_left_python();
    PyGILState_Release(g);
    return answer;
}

/* wasmtime_func_async_callback_t for the runtime's own imports; env: see HOST_KIND */
void native_host(void *env, void *caller, const wt_val *args, size_t nargs, wt_val *results,
                        size_t nresults, void **trap_ret, wt_cont *cont) {
    cont->callback = done_continuation;
    cont->env = NULL;
    cont->finalizer = NULL;
    SlotObject *s = (SlotObject *)p_context_get_data(p_caller_context(caller));
    if (s == NULL || s->magic != SLOT_MAGIC || s->exec == NULL) {
        *trap_ret = new_trap("wasmconc: host call from a store that is not a live guest thread");
        return;
    }
    int kind = HOST_KIND(env);
    if (kind >= HOST_WAIT32) {
        int handled;
        futex_host(env, s, args, results, trap_ret, cont, &handled);
        if (!handled)
            python_host(HOST_BINDING(env), caller, args, nargs, results, nresults, trap_ret, cont);
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
    if (kind == HOST_PREEMPT) {
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
    /* Epoch mode slices by time, as an OS does: an atomic operation inside a
     * slice with time left is no reason to give up the CPU (each would hand a
     * whole tick to the others: a lock round cost milliseconds beside a spinner). */
    if (s->slice_end_ns >= 0 && monotonic_ns() < s->slice_end_ns)
        return;
    int alone = alone_native(e, s);
    if (alone < 0)
        alone = alone_python(e, s);
    if (!alone || quiet_point(e))
        arm(s, YIELD_SCHED, trap_ret, cont);
}

/* ---- native host functions through a cell (runtime/native.py, NativeCell) ----
 * An exploration's kept linker and instances (machine/reuse.py) are bound to the functions defined
 * when the linker was made; an extension's native host function takes a per-execution env (a race
 * detector). Defined through a cell, the instances call this trampoline with the cell as env, and
 * each execution that reuses them writes its own callback and env into the cell before it runs. */
typedef void *(*unchecked_cb)(void *env, void *caller, void *args_and_results, size_t n);
typedef struct { unchecked_cb callback; void *env; } NativeCell;

void *cell_host(void *env, void *caller, void *args_and_results, size_t n) {
    NativeCell *cell = (NativeCell *)env;
    return cell->callback(cell->env, caller, args_and_results, n);
}

/* ---- what a native host function may ask about its caller (runtime/native.py) ----
 * A check's own C host functions (defined per execution by Execution.link) get
 * Wasmtime's caller; these answer from the calling store's slot, without Python. */

/* The calling guest thread's id, or -1 when the caller is not a live guest thread. */
int64_t caller_thread_id(void *caller) {
    SlotObject *s = (SlotObject *)p_context_get_data(p_caller_context(caller));
    if (s == NULL || s->magic != SLOT_MAGIC || s->exec == NULL)
        return -1;
    return s->tid;
}

/* The size in bytes of the caller's shared memory now (UINT64_MAX: none, or not a guest thread). */
uint64_t caller_memory_size(void *caller) {
    SlotObject *s = (SlotObject *)p_context_get_data(p_caller_context(caller));
    if (s == NULL || s->magic != SLOT_MAGIC || s->exec == NULL || s->exec->shared_memory == NULL)
        return UINT64_MAX;
    return exec_memory_bytes(s->exec);
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
    lane_clock_enter_python();
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
    lane_clock_left_python();
    PyGILState_Release(g);
    return finished;
}

static void pending_finalizer(void *env) {
    PyGILState_STATE g = PyGILState_Ensure();
    lane_clock_enter_python();
    PyObject *key = PyLong_FromVoidPtr(env);
    PyObject *r = key ? PyObject_CallOneArg(py_finalize, key) : NULL;
    Py_XDECREF(key);
    if (r)
        Py_DECREF(r);
    else
        PyErr_WriteUnraisable(py_finalize);
    lane_clock_left_python();
    PyGILState_Release(g);
}

/* Epoch mode: a thread whose time slice ran out during a host call yields
 * when the call returns. The counter alone would look at the clock only
 * after a refill sized by the thread's earlier speed, and a loop of slow host
 * calls (a busy-wait polling the clock) spends a refill far more slowly than
 * the code it was measured on: the other threads starved for 100s of ms. */
static void end_expired_slice(void *store_key, void **trap_ret, wt_cont *cont) {
    SlotObject *s = (SlotObject *)store_key;
    if (s == NULL || s->magic != SLOT_MAGIC || s->exec == NULL || !s->exec->serial || s->slice_end_ns < 0)
        return;
    if (monotonic_ns() >= s->slice_end_ns)
        arm(s, YIELD_QUANTUM, trap_ret, cont);
}

void python_host(void *env, void *caller, const wt_val *args, size_t nargs, wt_val *results,
                        size_t nresults, void **trap_ret, wt_cont *cont) {
    (void)nresults;
    cont->callback = done_continuation; /* Python may arm a yield instead */
    cont->env = NULL;
    cont->finalizer = NULL;
    void *store_key = p_context_get_data(p_caller_context(caller));
    PyGILState_STATE g = PyGILState_Ensure();
    lane_clock_enter_python();
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
        } else if (!*trap_ret && cont->callback == done_continuation) {
            end_expired_slice(store_key, trap_ret, cont);
        }
    }
    lane_clock_left_python();
    PyGILState_Release(g);
}

/* ---- the bindings' finalizers ----
 * Wasmtime runs a host function's finalizer when the last linker or store that
 * defines it is deleted, which may be during the interpreter's shutdown, after
 * the hostcalls module's globals were cleared: a ctypes callback as finalizer
 * was freed by then, and Wasmtime jumped into freed memory (a segfault at exit).
 * These live in this module, which is never unloaded, and hold the bindings
 * table themselves. */
static PyObject *bindings; /* hostcalls._BINDINGS: binding key -> Binding */

static void drop_binding(uintptr_t key) {
#if PY_VERSION_HEX >= 0x030D0000
    int finalizing = Py_IsFinalizing();
#else
    int finalizing = _Py_IsFinalizing();
#endif
    if (bindings == NULL || finalizing)
        return; /* at shutdown the whole table goes */
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *k = PyLong_FromSize_t((size_t)key);
    if (k == NULL || PyDict_DelItem(bindings, k) < 0)
        PyErr_Clear(); /* already gone: nothing to drop */
    Py_XDECREF(k);
    PyGILState_Release(g);
}

void binding_finalizer(void *env) { drop_binding((uintptr_t)env); }

void native_binding_finalizer(void *env) { drop_binding((uintptr_t)env >> 8); }

PyObject *set_bindings(PyObject *mod, PyObject *table) {
    (void)mod;
    if (!PyDict_Check(table)) {
        PyErr_SetString(PyExc_TypeError, "set_bindings takes the bindings dict");
        return NULL;
    }
    Py_XSETREF(bindings, Py_NewRef(table));
    Py_RETURN_NONE;
}

PyObject *set_python_host(PyObject *mod, PyObject *args) {
    PyObject *call, *resume, *finalize;
    if (!PyArg_ParseTuple(args, "OOO", &call, &resume, &finalize))
        return NULL;
    Py_XSETREF(py_host_call, Py_NewRef(call));
    Py_XSETREF(py_resume, Py_NewRef(resume));
    Py_XSETREF(py_finalize, Py_NewRef(finalize));
    Py_RETURN_NONE;
}

