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
 *  - `Exec`: per execution, the slots, the futex table (per-address FIFO
 *    queues in a hash table) and the active set: live threads not blocked on
 *    a futex nor parked until a deadline, in tid order, with counts, kept by
 *    every change of a slot's state. Steps and scheduling points read these,
 *    never the parked threads, so their cost does not grow with them.
 *  - `Lane.run`: the serial driver's step loop for the common stretch, every
 *    active thread runnable or new (futex waiters woken meanwhile are made
 *    runnable, new ones started, by Python callbacks) and the policy
 *    round-robin or random. It returns to Python at anything else: a
 *    finished future, another kind of wait, a due deadline of the timer heap,
 *    the end, the step budget (steps without progress), the wall-clock
 *    deadline, Ctrl-C. Python host calls made during its polls run as usual;
 *    what they change that the loop depends on is mirrored into the slots
 *    and the exec (state, waits, spawns, end).
 *
 * Exactness: every step taken here is the step runtime/drivers/serial.py would take,
 * and the policies draw from the same Python random streams (getrandbits,
 * the way random.Random.randrange does), so a seed names one schedule with or
 * without the lane (tests/runtime/test_lane.py compares them).
 *
 * Every other host function is Python, entered through one C trampoline
 * (cheaper than a ctypes callback) that calls capi._host_call.
 *
 * Wasmtime's functions are not linked: their addresses come from the
 * wasmtime-py library already loaded by ctypes (`init`).
 *
 * Files: lane.h (shared declarations), slots.c (Slot, Exec, the counter),
 * host.c (host functions and continuations), vmem.c (the virtual memory size), futex.c (the futex table and
 * the native wait/notify), steps.c (Lane, the policies),
 * module.c (this: the module and Wasmtime's function pointers).
 */
#include "lane.h"

bool (*p_future_poll)(void *future);
void *(*p_context_get_data)(void *context);
void *(*p_caller_context)(void *caller);
void (*p_global_get)(void *context, const wt_global *g, wt_val *out);
void *(*p_global_set)(void *context, const wt_global *g, const wt_val *v);
void *(*p_trap_new)(const char *msg, size_t len);
void (*p_error_delete)(void *err);
size_t (*p_sharedmemory_data_size)(const void *memory);
void *(*p_sharedmemory_grow)(const void *memory, uint64_t delta, uint64_t *prev_pages);

/* ---- module ---- */

static PyObject *lane_module_init(PyObject *mod, PyObject *args) {
    unsigned long long a[9];
    if (!PyArg_ParseTuple(args, "KKKKKKKKK", &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &a[6], &a[7], &a[8]))
        return NULL;
    for (int i = 0; i < 9; i++)
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
    p_sharedmemory_data_size = (size_t (*)(const void *))(uintptr_t)a[7];
    p_sharedmemory_grow = (void *(*)(const void *, uint64_t, uint64_t *))(uintptr_t)a[8];
    Py_RETURN_NONE;
}

/* The reset path (runtime/machine/reuse.py): write back every mutable global of a reused
 * instance in one call (one ctypes call per global cost about 1.5 us, times ~45 per libc instance). */
static PyObject *reset_globals(PyObject *mod, PyObject *args) {
    (void)mod;
    unsigned long long context;
    Py_buffer g, v;
    if (!PyArg_ParseTuple(args, "Ky*y*", &context, &g, &v))
        return NULL;
    Py_ssize_t n = g.len / (Py_ssize_t)sizeof(wt_global);
    if (g.len % (Py_ssize_t)sizeof(wt_global) || v.len != n * (Py_ssize_t)sizeof(wt_val)) {
        PyBuffer_Release(&g);
        PyBuffer_Release(&v);
        PyErr_SetString(PyExc_ValueError, "reset_globals: globals and values do not match");
        return NULL;
    }
    const wt_global *gs = g.buf;
    const wt_val *vs = v.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        void *err = p_global_set((void *)(uintptr_t)context, &gs[i], &vs[i]);
        if (err) {
            p_error_delete(err);
            PyBuffer_Release(&g);
            PyBuffer_Release(&v);
            PyErr_Format(PyExc_RuntimeError, "reset_globals: wasmtime refused global %zd", i);
            return NULL;
        }
    }
    PyBuffer_Release(&g);
    PyBuffer_Release(&v);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"reset_globals", reset_globals, METH_VARARGS,
     "(context address, n wasmtime_global_t bytes, n wasmtime_val_t bytes): set each global to its value."},

    {"set_python_host", set_python_host, METH_VARARGS,
     "(call, resume, finalize): the Python side of every non-native host function."},
    {"set_bindings", set_bindings, METH_O,
     "(dict): the bindings table the finalizers BINDING_FINALIZER and NATIVE_BINDING_FINALIZER drop keys from."},
    {"native_streams", native_streams, METH_NOARGS,
     "Whether the lane draws the policies' random numbers in C (CPython's Random layout checked)."},
    {"init", lane_module_init, METH_VARARGS,
     "(future_poll, context_get_data, caller_context, global_get, global_set, trap_new, error_delete,\n"
     " sharedmemory_data_size, sharedmemory_grow) addresses."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef lane_module = {
    PyModuleDef_HEAD_INIT, "_lane", "The scheduler's native hot path (see _lane_c/module.c).", -1, module_methods,
};

PyMODINIT_FUNC PyInit__lane(void) {
    if (PyType_Ready(&SlotType) < 0 || PyType_Ready(&ExecType) < 0 || PyType_Ready(&LaneType) < 0)
        return NULL;
    if (steps_init() < 0)
        return NULL;
    PyObject *m = PyModule_Create(&lane_module);
    if (!m)
        return NULL;
    if (PyModule_AddObjectRef(m, "Slot", (PyObject *)&SlotType) < 0 ||
        PyModule_AddObjectRef(m, "Exec", (PyObject *)&ExecType) < 0 ||
        PyModule_AddObjectRef(m, "Lane", (PyObject *)&LaneType) < 0 ||
        PyModule_AddObject(m, "NATIVE_HOST", PyLong_FromVoidPtr((void *)native_host)) < 0 ||
        PyModule_AddObject(m, "PYTHON_HOST", PyLong_FromVoidPtr((void *)python_host)) < 0 ||
        PyModule_AddObject(m, "BINDING_FINALIZER", PyLong_FromVoidPtr((void *)binding_finalizer)) < 0 ||
        PyModule_AddObject(m, "NATIVE_BINDING_FINALIZER", PyLong_FromVoidPtr((void *)native_binding_finalizer)) < 0 ||
        PyModule_AddObject(m, "CALLER_THREAD_ID", PyLong_FromVoidPtr((void *)caller_thread_id)) < 0 ||
        PyModule_AddObject(m, "CALLER_MEMORY_SIZE", PyLong_FromVoidPtr((void *)caller_memory_size)) < 0 ||
        PyModule_AddObject(m, "VMEM_SIZE", PyLong_FromVoidPtr((void *)vmem_size_host)) < 0 ||
        PyModule_AddObject(m, "CELL_HOST", PyLong_FromVoidPtr((void *)cell_host)) < 0 ||
        PyModule_AddObject(m, "VMEM_GROW", PyLong_FromVoidPtr((void *)vmem_grow_host)) < 0 ||
        PyModule_AddIntConstant(m, "HOST_PREEMPT", HOST_PREEMPT) < 0 ||
        PyModule_AddIntConstant(m, "HOST_SCHED_POINT", HOST_SCHED_POINT) < 0 ||
        PyModule_AddIntConstant(m, "HOST_WAIT32", HOST_WAIT32) < 0 ||
        PyModule_AddIntConstant(m, "HOST_WAIT64", HOST_WAIT64) < 0 ||
        PyModule_AddIntConstant(m, "HOST_WAIT32_M64", HOST_WAIT32_M64) < 0 ||
        PyModule_AddIntConstant(m, "HOST_WAIT64_M64", HOST_WAIT64_M64) < 0 ||
        PyModule_AddIntConstant(m, "HOST_NOTIFY", HOST_NOTIFY) < 0 ||
        PyModule_AddIntConstant(m, "HOST_NOTIFY_M64", HOST_NOTIFY_M64) < 0 ||
        PyModule_AddIntConstant(m, "YIELD_QUANTUM", YIELD_QUANTUM) < 0 ||
        PyModule_AddIntConstant(m, "BLOCKED", BLOCKED) < 0 ||
        PyModule_AddIntConstant(m, "WOKEN", WOKEN) < 0 ||
        PyModule_AddIntConstant(m, "TIMED", TIMED) < 0 ||
        PyModule_AddIntConstant(m, "YIELD_SCHED", YIELD_SCHED) < 0 ||
        PyModule_AddIntConstant(m, "POLICY_RR", POLICY_RR) < 0 ||
        PyModule_AddIntConstant(m, "POLICY_RANDOM", POLICY_RANDOM) < 0 ||
        PyModule_AddIntConstant(m, "POLICY_PYTHON", POLICY_PYTHON) < 0 ||
        PyModule_AddIntConstant(m, "POLICY_PCT", POLICY_PCT) < 0 ||
        PyModule_AddIntConstant(m, "RUN_PYTHON_STEP", RUN_PYTHON_STEP) < 0 ||
        PyModule_AddIntConstant(m, "RUN_POST_POLL", RUN_POST_POLL) < 0 ||
        PyModule_AddIntConstant(m, "SOLO_SLICES", SOLO_SLICES) < 0 ||
        PyModule_AddIntConstant(m, "QUIET_POINT_COST", QUIET_POINT_COST) < 0 ||
        PyModule_AddIntConstant(m, "EPOCH_CHECK", EPOCH_CHECK) < 0 ||
        PyModule_AddIntConstant(m, "VAL_SIZE", (long)sizeof(wt_val)) < 0 ||
        PyModule_AddIntConstant(m, "GLOBAL_SIZE", (long)sizeof(wt_global)) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

