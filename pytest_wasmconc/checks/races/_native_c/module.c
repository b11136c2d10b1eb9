/* The race check's native detector: the per-access work of --check races without Python.
 *
 * recorder.py with detector.py cost about 2 us per shared access: the call
 * into Python, the recorder's bookkeeping, the FastTrack check. Here the
 * pass's imports (`wasmconc_races.access/access64/range`) are C functions
 * that Wasmtime calls directly (runtime/native.py: unchecked host functions
 * defined per execution, so `env` is this execution's detector), and the
 * whole report (the thread's numbering, the site, the shadow memory, the
 * vector clocks, the synchronization of atomic accesses) happens in C.
 * Python sees the detector only for what is rare: host lock events, the
 * races found (read when the execution ends) and the statistics.
 *
 * Files: races.h (declarations), detector.c (the algorithm: detector.py's,
 * step for step), module.c (this: the Python type `Detector` and the three
 * callbacks). In os mode guest threads report at once: each report holds
 * the detector's mutex (the serial modes skip it); Python methods take it too,
 * and nothing holding it ever waits for the GIL.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "races.h"

/* ---- the callbacks Wasmtime calls (wasmtime_func_unchecked_callback_t) ---- */

typedef union { int32_t i32; int64_t i64; uint8_t raw[16]; } RawVal; /* wasmtime_val_raw_t */

static int64_t (*p_caller_thread_id)(void *caller);
static uint64_t (*p_caller_memory_size)(void *caller);
static void *(*p_trap_new)(const char *msg, size_t len);

static void *trap(const char *msg) { return p_trap_new(msg, strlen(msg)); }

static void *report(Det *d, void *caller, uint64_t addr, uint32_t site, bool is_range, uint64_t length) {
    int64_t tid = p_caller_thread_id(caller);
    if (tid < 0)
        return trap("wasmconc: race check report from a store that is not a live guest thread");
    uint64_t memory_size = is_range ? p_caller_memory_size(caller) : UINT64_MAX;
    const char *error = NULL;
    if (d->concurrent)
        pthread_mutex_lock(&d->mu);
    int rc = det_report(d, (uint32_t)tid, addr, site, is_range, length, memory_size, &error);
    if (d->concurrent)
        pthread_mutex_unlock(&d->mu);
    if (rc < 0 && det_over_budget())
        error = VC_BUDGET_MESSAGE;
    return rc < 0 ? trap(error) : NULL;
}

/* access(addr: i32, site: i32) */
static void *cb_access(void *env, void *caller, RawVal *args, size_t n) {
    (void)n;
    return report((Det *)env, caller, (uint32_t)args[0].i32, (uint32_t)args[1].i32, false, 0);
}

/* access64(addr: i64, site: i32) */
static void *cb_access64(void *env, void *caller, RawVal *args, size_t n) {
    (void)n;
    return report((Det *)env, caller, (uint64_t)args[0].i64, (uint32_t)args[1].i32, false, 0);
}

/* range(addr: i32, length: i32, site: i32) */
static void *cb_range(void *env, void *caller, RawVal *args, size_t n) {
    (void)n;
    return report((Det *)env, caller, (uint32_t)args[0].i32, (uint32_t)args[2].i32, true, (uint32_t)args[1].i32);
}

/* Any of the three that does nothing: what the call alone costs (benchmarks/race_check.py). */
static void *cb_nothing(void *env, void *caller, RawVal *args, size_t n) {
    (void)env;
    (void)caller;
    (void)args;
    (void)n;
    return NULL;
}

/* ---- the Python type ---- */

typedef struct {
    PyObject_HEAD
    Det det;
} DetectorObject;

static void lock(DetectorObject *self) {
    if (self->det.concurrent) {
        Py_BEGIN_ALLOW_THREADS
        pthread_mutex_lock(&self->det.mu);
        Py_END_ALLOW_THREADS
    }
}

static void unlock(DetectorObject *self) {
    if (self->det.concurrent)
        pthread_mutex_unlock(&self->det.mu);
}

static PyObject *no_memory(DetectorObject *self) {
    unlock(self);
    if (det_over_budget()) {
        PyErr_SetString(PyExc_MemoryError, VC_BUDGET_MESSAGE);
        return NULL;
    }
    return PyErr_NoMemory();
}

static int detector_init(DetectorObject *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"solo", "concurrent", "candidates", NULL};
    int solo = 0, concurrent = 0, candidates = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|$ppp", names, &solo, &concurrent, &candidates))
        return -1;
    det_free(&self->det);
    det_init(&self->det, solo, concurrent, candidates);
    return 0;
}

static PyObject *detector_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    (void)args;
    (void)kw;
    DetectorObject *self = (DetectorObject *)type->tp_alloc(type, 0);
    if (self)
        det_init(&self->det, false, false, false);
    return (PyObject *)self;
}

static void detector_dealloc(DetectorObject *self) {
    det_free(&self->det);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int parse_tid(PyObject *obj, uint32_t *tid) {
    unsigned long long v = PyLong_AsUnsignedLongLong(obj);
    if (v == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    if (v > MAX_TID) {
        PyErr_Format(PyExc_ValueError, "thread id %llu is out of range", v);
        return -1;
    }
    *tid = (uint32_t)v;
    return 0;
}

/* detector.py's keys: an int (an address), ("host", id), ("spawn", addr), ("fork", parent, child). */
static int parse_key(PyObject *obj, int *kind, uint64_t *key) {
    if (PyLong_Check(obj)) {
        *kind = KEY_ADDR;
        *key = PyLong_AsUnsignedLongLongMask(obj);
        return PyErr_Occurred() ? -1 : 0;
    }
    if (PyTuple_Check(obj) && PyTuple_GET_SIZE(obj) >= 2 && PyUnicode_Check(PyTuple_GET_ITEM(obj, 0))) {
        const char *name = PyUnicode_AsUTF8(PyTuple_GET_ITEM(obj, 0));
        Py_ssize_t n = PyTuple_GET_SIZE(obj);
        if (!name)
            return -1;
        if (n == 2 && (!strcmp(name, "host") || !strcmp(name, "spawn"))) {
            *kind = name[0] == 'h' ? KEY_HOST : KEY_SPAWN;
            *key = PyLong_AsUnsignedLongLongMask(PyTuple_GET_ITEM(obj, 1));
            return PyErr_Occurred() ? -1 : 0;
        }
        if (n == 3 && !strcmp(name, "fork")) {
            uint64_t parent = PyLong_AsUnsignedLongLongMask(PyTuple_GET_ITEM(obj, 1));
            uint64_t child = PyLong_AsUnsignedLongLongMask(PyTuple_GET_ITEM(obj, 2));
            *kind = KEY_FORK;
            *key = parent << 32 | (child & 0xffffffffu);
            return PyErr_Occurred() ? -1 : 0;
        }
    }
    PyErr_Format(PyExc_TypeError, "a sync key is an address or ('host'|'spawn', int) or ('fork', int, int), not %R",
                 obj);
    return -1;
}

typedef int (*sync_fn)(Det *, uint32_t, int, uint64_t);

static PyObject *sync_call(DetectorObject *self, PyObject *args, sync_fn fn) {
    PyObject *tid_obj, *key_obj;
    uint32_t tid;
    int kind;
    uint64_t key;
    if (!PyArg_ParseTuple(args, "OO", &tid_obj, &key_obj) || parse_tid(tid_obj, &tid) < 0 ||
        parse_key(key_obj, &kind, &key) < 0)
        return NULL;
    lock(self);
    if (fn(&self->det, tid, kind, key) < 0)
        return no_memory(self);
    unlock(self);
    Py_RETURN_NONE;
}

static PyObject *detector_acquire(DetectorObject *self, PyObject *args) { return sync_call(self, args, det_acquire); }
static PyObject *detector_release(DetectorObject *self, PyObject *args) { return sync_call(self, args, det_release); }
static PyObject *detector_handoff(DetectorObject *self, PyObject *args) { return sync_call(self, args, det_handoff); }

static PyObject *detector_fork(DetectorObject *self, PyObject *args) {
    PyObject *parent_obj, *child_obj;
    uint32_t parent, child;
    if (!PyArg_ParseTuple(args, "OO", &parent_obj, &child_obj) || parse_tid(parent_obj, &parent) < 0 ||
        parse_tid(child_obj, &child) < 0)
        return NULL;
    uint64_t key = (uint64_t)parent << 32 | child;
    lock(self);
    if (det_release(&self->det, parent, KEY_FORK, key) < 0 || det_handoff(&self->det, child, KEY_FORK, key) < 0)
        return no_memory(self);
    unlock(self);
    Py_RETURN_NONE;
}

static PyObject *detector_end_solo(DetectorObject *self, PyObject *unused) {
    (void)unused;
    lock(self);
    self->det.solo = false;
    unlock(self);
    Py_RETURN_NONE;
}

static PyObject *access_tuple(const Acc *a) {
    return Py_BuildValue("(IKIOIK)", a->tid, (unsigned long long)a->info.addr, a->info.size,
                         a->write ? Py_True : Py_False, a->info.site, (unsigned long long)a->info.seq);
}

static PyObject *race_list(const RacePair *v, size_t n) {
    PyObject *out = PyList_New((Py_ssize_t)n);
    for (size_t k = 0; out && k < n; k++) {
        PyObject *prev = access_tuple(&v[k].prev), *cur = access_tuple(&v[k].cur);
        PyObject *pair = prev && cur ? PyTuple_Pack(2, prev, cur) : NULL;
        Py_XDECREF(prev);
        Py_XDECREF(cur);
        if (!pair) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, (Py_ssize_t)k, pair);
    }
    return out;
}

/* check(tid, addr, size, write, site, seq): detector.py's check (the races as tuples, or None). */
static PyObject *detector_check(DetectorObject *self, PyObject *args) {
    PyObject *tid_obj;
    unsigned long long addr, size, seq;
    unsigned int site;
    int write;
    uint32_t tid;
    if (!PyArg_ParseTuple(args, "OKKpIK", &tid_obj, &addr, &size, &write, &site, &seq) || parse_tid(tid_obj, &tid) < 0)
        return NULL;
    lock(self);
    Det *d = &self->det;
    d->scratch.n = 0;
    if (det_check(d, tid, addr, size, write, site, seq) < 0)
        return no_memory(self);
    PyObject *out = d->scratch.n ? race_list(d->scratch.v, d->scratch.n) : Py_NewRef(Py_None);
    d->scratch.n = 0;
    unlock(self);
    return out;
}

/* report(tid, addr, site, length=None, memory_size=2**64-1): one call of the guest's imports, as the
 * callbacks make it (length given: a range). Raises ValueError with the trap message the guest would get. */
static PyObject *detector_report(DetectorObject *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"tid", "addr", "site", "length", "memory_size", NULL};
    PyObject *tid_obj, *length_obj = Py_None;
    unsigned long long addr, memory_size = UINT64_MAX;
    unsigned int site;
    uint32_t tid;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OKI|OK", names, &tid_obj, &addr, &site, &length_obj, &memory_size) ||
        parse_tid(tid_obj, &tid) < 0)
        return NULL;
    unsigned long long length = 0;
    if (length_obj != Py_None) {
        length = PyLong_AsUnsignedLongLong(length_obj);
        if (PyErr_Occurred())
            return NULL;
    }
    const char *error = NULL;
    lock(self);
    int rc = det_report(&self->det, tid, addr, site, length_obj != Py_None, length, memory_size, &error);
    unlock(self);
    if (rc < 0) {
        PyErr_SetString(PyExc_ValueError, error);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* set_sites(table): bytes, 16 per site: kind code (u8), 3 pad bytes, size (u32), memarg offset (u64). */
static PyObject *detector_set_sites(DetectorObject *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (view.len % 16) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "the site table is 16 bytes per site");
        return NULL;
    }
    size_t n = (size_t)view.len / 16;
    Site *sites = malloc(n ? n * sizeof(Site) : 1);
    if (!sites) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    const unsigned char *p = view.buf;
    for (size_t k = 0; k < n; k++, p += 16) {
        sites[k].code = p[0];
        memcpy(&sites[k].size, p + 4, 4);
        memcpy(&sites[k].offset, p + 8, 8);
    }
    PyBuffer_Release(&view);
    lock(self);
    free(self->det.sites);
    self->det.sites = sites;
    self->det.nsites = n;
    unlock(self);
    Py_RETURN_NONE;
}

/* set_probe(tid, seq, message): detect nothing; trap thread tid's report number seq with message. */
static PyObject *detector_set_probe(DetectorObject *self, PyObject *args) {
    PyObject *tid_obj;
    unsigned long long seq;
    const char *message;
    uint32_t tid;
    if (!PyArg_ParseTuple(args, "OKs", &tid_obj, &seq, &message) || parse_tid(tid_obj, &tid) < 0)
        return NULL;
    char *copy = strdup(message);
    if (!copy)
        return PyErr_NoMemory();
    lock(self);
    free(self->det.probe_message);
    self->det.probe_message = copy;
    self->det.probe_tid = tid;
    self->det.probe_seq = seq;
    self->det.probe_hit = -1;
    self->det.probing = true;
    unlock(self);
    Py_RETURN_NONE;
}

static PyObject *detector_get_probe_hit(DetectorObject *self, void *closure) {
    (void)closure;
    if (self->det.probe_hit < 0)
        Py_RETURN_NONE;
    return PyLong_FromLongLong(self->det.probe_hit);
}

/* take_races(): the races of new pairs of sites found since the last call, oldest first. */
static PyObject *detector_take_races(DetectorObject *self, PyObject *unused) {
    (void)unused;
    lock(self);
    PyObject *out = race_list(self->det.found.v, self->det.found.n);
    if (out)
        self->det.found.n = 0;
    unlock(self);
    return out;
}

static PyObject *detector_clock(DetectorObject *self, PyObject *tid_obj) {
    uint32_t tid;
    if (parse_tid(tid_obj, &tid) < 0)
        return NULL;
    lock(self);
    VC *vc = det_clock(&self->det, tid);
    if (!vc)
        return no_memory(self);
    PyObject *out = PyDict_New();
    for (uint32_t t = 0; out && t < vc->n; t++) {
        if (!vc->c[t])
            continue;
        PyObject *k = PyLong_FromUnsignedLong(t), *v = PyLong_FromUnsignedLongLong(vc->c[t]);
        if (!k || !v || PyDict_SetItem(out, k, v) < 0)
            Py_CLEAR(out);
        Py_XDECREF(k);
        Py_XDECREF(v);
    }
    unlock(self);
    return out;
}

static PyObject *detector_stats(DetectorObject *self, PyObject *unused) {
    (void)unused;
    lock(self);
    Det *d = &self->det;
    PyObject *out = Py_BuildValue("{sIsnsKsKsK}", "threads", d->nclocks, "sync_keys", (Py_ssize_t)d->present_syncs,
                                  "shadow_words", (unsigned long long)d->shadow_words, "accesses",
                                  (unsigned long long)d->accesses, "sync_ops", (unsigned long long)d->sync_ops);
    unlock(self);
    return out;
}

/* candidate_pairs(): [(earlier site, later site), ...] noted so far, each once, in order, as detector.py's. */
static PyObject *detector_candidate_pairs(DetectorObject *self, PyObject *unused) {
    (void)unused;
    lock(self);
    Det *d = &self->det;
    PyObject *out = PyList_New((Py_ssize_t)d->ncandidates);
    for (size_t k = 0; out && k < d->ncandidates; k++) {
        PyObject *pair = Py_BuildValue("(II)", d->candidate_pairs[k].a, d->candidate_pairs[k].b);
        if (!pair) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, (Py_ssize_t)k, pair);
    }
    unlock(self);
    return out;
}

/* site_hits(): {site index: plain accesses checked} for every site with any, as detector.py's. */
static PyObject *detector_site_hits(DetectorObject *self, PyObject *unused) {
    (void)unused;
    PyObject *out = PyDict_New();
    if (!out)
        return NULL;
    lock(self);
    Det *d = &self->det;
    for (size_t k = 0; k < d->cap_hits; k++) {
        if (!d->site_hits[k])
            continue;
        PyObject *key = PyLong_FromSize_t(k), *value = PyLong_FromUnsignedLongLong(d->site_hits[k]);
        int rc = key && value ? PyDict_SetItem(out, key, value) : -1;
        Py_XDECREF(key);
        Py_XDECREF(value);
        if (rc < 0) {
            unlock(self);
            Py_DECREF(out);
            return NULL;
        }
    }
    unlock(self);
    return out;
}

static PyObject *detector_get_address(DetectorObject *self, void *closure) {
    (void)closure;
    return PyLong_FromVoidPtr(&self->det);
}

static PyObject *detector_get_solo(DetectorObject *self, void *closure) {
    (void)closure;
    return PyBool_FromLong(self->det.solo);
}

static PyMethodDef detector_methods[] = {
    {"check", (PyCFunction)detector_check, METH_VARARGS,
     "check(tid, addr, size, write, site, seq): the races a plain access completes, as (previous, current) tuples "
     "of (tid, addr, size, write, site, seq), or None."},
    {"acquire", (PyCFunction)detector_acquire, METH_VARARGS, "acquire(tid, key)"},
    {"release", (PyCFunction)detector_release, METH_VARARGS, "release(tid, key)"},
    {"handoff", (PyCFunction)detector_handoff, METH_VARARGS, "handoff(tid, key): acquire, then forget the key"},
    {"fork", (PyCFunction)detector_fork, METH_VARARGS, "fork(parent, child)"},
    {"end_solo", (PyCFunction)detector_end_solo, METH_NOARGS, "from now on accesses are recorded"},
    {"report", (PyCFunction)(void (*)(void))detector_report, METH_VARARGS | METH_KEYWORDS,
     "report(tid, addr, site, length=None, memory_size=2**64-1): one call of the guest's imports"},
    {"set_sites", (PyCFunction)detector_set_sites, METH_O, "set_sites(table): the pass's sites (see module.c)"},
    {"set_probe", (PyCFunction)detector_set_probe, METH_VARARGS,
     "set_probe(tid, seq, message): check nothing, trap thread tid's report number seq"},
    {"take_races", (PyCFunction)detector_take_races, METH_NOARGS, "the races of new pairs of sites so far"},
    {"clock", (PyCFunction)detector_clock, METH_O, "clock(tid): the thread's vector clock as a dict"},
    {"stats", (PyCFunction)detector_stats, METH_NOARGS, "counts, as detector.py's stats()"},
    {"site_hits", (PyCFunction)detector_site_hits, METH_NOARGS, "{site: plain accesses checked}, as detector.py's"},
    {"candidate_pairs", (PyCFunction)detector_candidate_pairs, METH_NOARGS,
     "[(earlier site, later site)] of candidates, as detector.py's"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef detector_getset[] = {
    {"address", (getter)detector_get_address, NULL, "the env pointer the callbacks take", NULL},
    {"solo", (getter)detector_get_solo, NULL, "one thread so far: accesses are not recorded", NULL},
    {"probe_hit", (getter)detector_get_probe_hit, NULL, "the site of the report the probe stopped at, or None",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject DetectorType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pytest_wasmconc.checks.races._native.Detector",
    .tp_basicsize = sizeof(DetectorObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Detector(*, solo=False, concurrent=False): detector.py's Detector in C, with the recorder's reports.",
    .tp_new = detector_new,
    .tp_init = (initproc)detector_init,
    .tp_dealloc = (destructor)detector_dealloc,
    .tp_methods = detector_methods,
    .tp_getset = detector_getset,
};

/* ---- module ---- */

static PyObject *module_init(PyObject *mod, PyObject *args) {
    (void)mod;
    unsigned long long a[3];
    if (!PyArg_ParseTuple(args, "KKK", &a[0], &a[1], &a[2]))
        return NULL;
    for (int i = 0; i < 3; i++)
        if (!a[i]) {
            PyErr_SetString(PyExc_ValueError, "null function address");
            return NULL;
        }
    p_caller_thread_id = (int64_t (*)(void *))(uintptr_t)a[0];
    p_caller_memory_size = (uint64_t (*)(void *))(uintptr_t)a[1];
    p_trap_new = (void *(*)(const char *, size_t))(uintptr_t)a[2];
    Py_RETURN_NONE;
}

static PyObject *module_set_vc_budget(PyObject *mod, PyObject *arg) {
    (void)mod;
    unsigned long long bytes = PyLong_AsUnsignedLongLong(arg);
    if (bytes == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    return PyLong_FromSize_t(det_set_vc_budget((size_t)bytes));
}

static PyMethodDef module_methods[] = {
    {"init", module_init, METH_VARARGS,
     "init(caller_thread_id, caller_memory_size, trap_new): the runtime's addresses (runtime/native.py)."},
    {"set_vc_budget", module_set_vc_budget, METH_O,
     "set_vc_budget(bytes) -> bytes counted now: the vector clocks' budget (0: a quarter of the machine's memory)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef races_module = {
    PyModuleDef_HEAD_INIT, "_native", "The race check's native detector (see _native_c/module.c).", -1,
    module_methods,
};

PyMODINIT_FUNC PyInit__native(void) {
    if (PyType_Ready(&DetectorType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&races_module);
    if (!m)
        return NULL;
    if (PyModule_AddObjectRef(m, "Detector", (PyObject *)&DetectorType) < 0 ||
        PyModule_AddObject(m, "ACCESS", PyLong_FromVoidPtr((void *)cb_access)) < 0 ||
        PyModule_AddObject(m, "ACCESS64", PyLong_FromVoidPtr((void *)cb_access64)) < 0 ||
        PyModule_AddObject(m, "RANGE", PyLong_FromVoidPtr((void *)cb_range)) < 0 ||
        PyModule_AddObject(m, "NOTHING", PyLong_FromVoidPtr((void *)cb_nothing)) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
