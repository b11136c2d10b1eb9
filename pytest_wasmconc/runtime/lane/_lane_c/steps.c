/* Lane: the serial driver's step loop, with the round-robin and random policies. */
#include "lane.h"

/* ---- Lane: the step loop ---- */

typedef struct {
    PyObject_HEAD
    ExecObject *exec;
    int fuel;                   /* fuel mode; else epoch mode on the counter */
    long long slice, tick_ns, max_steps, wall_deadline_ns; /* -1: none */
    int policy;
    long long policy_slice;     /* rr: its slice; random: the execution's scale */
    long long stay;             /* random: odds stay:1 of keeping the current thread at a yield point, 0 none */
    PyObject *choice_bits, *slice_bits; /* random: the streams' getrandbits */
    struct MTObject *choice_mt, *slice_mt; /* the same streams drawn from in C, or NULL (see mt_stream) */
    PyObject *decisions, *slices;       /* Recording's lists, or None */
    PyObject *py_pick, *py_slice; /* python: the policy's pick(runnable, current, reason) and slice_for(tid) */
    PyObject *reasons;          /* python: SwitchReason by code (serial.py's REASONS) */
    /* pct: the policy (schedulers/pct.py), whose priorities the loop reads from its dicts and whose
     * counters it keeps while it runs (read at run's start, written back before any Python runs and
     * at its end); a decision at a change point, or with a thread not yet ranked, is the policy's own */
    PyObject *pct, *pct_position, *pct_lowered;
    long long pct_depth, pct_k, pct_steps, pct_choices, pct_max_seen;
    int pct_last, pct_visible;
    long long *pct_changes;     /* the change steps */
    Py_ssize_t pct_nchanges;
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

/* ---- The policies' random streams, drawn from in C ----
 *
 * A pick or a slice is `randrange(n)` on a `random.Random` stream: `getrandbits(k)`, k the
 * bit length of n, until the draw is below n. Calling getrandbits from C cost a third of a
 * scheduling step (two or three calls per step, an int made and freed each). The streams are
 * CPython's `_random.Random` objects: a Mersenne Twister whose state is the object's `index`
 * and `state[624]`, and getrandbits(k) takes ceil(k / 32) 32-bit outputs, the first as the
 * lowest word, the last shifted right to k's remaining bits. mt_getrandbits does exactly that
 * on the object's own state, so every draw is the one Python would have made and the stream
 * stays where Python would have left it (Python draws from it too, before and after the
 * lane). The layout is CPython's private struct: steps_init checks it on two streams seeded
 * alike, one drawn in C and one in Python, across two state refills, and the lane draws in C
 * only when that check passed and the stream's getrandbits is that very C method. */
#define MT_N 624
#define MT_M 397

typedef struct MTObject {
    PyObject_HEAD
    int index;
    uint32_t state[MT_N];
} MTObject;

static PyTypeObject *mt_type;   /* _random.Random, when the layout check passed */
static PyCFunction mt_method;   /* its getrandbits */

static uint32_t mt_next(MTObject *r) {
    uint32_t *mt = r->state, y;
    static const uint32_t mag01[2] = {0x0U, 0x9908b0dfU};
    if (r->index >= MT_N) {
        int kk;
        for (kk = 0; kk < MT_N - MT_M; kk++) {
            y = (mt[kk] & 0x80000000U) | (mt[kk + 1] & 0x7fffffffU);
            mt[kk] = mt[kk + MT_M] ^ (y >> 1) ^ mag01[y & 0x1U];
        }
        for (; kk < MT_N - 1; kk++) {
            y = (mt[kk] & 0x80000000U) | (mt[kk + 1] & 0x7fffffffU);
            mt[kk] = mt[kk + (MT_M - MT_N)] ^ (y >> 1) ^ mag01[y & 0x1U];
        }
        y = (mt[MT_N - 1] & 0x80000000U) | (mt[0] & 0x7fffffffU);
        mt[MT_N - 1] = mt[MT_M - 1] ^ (y >> 1) ^ mag01[y & 0x1U];
        r->index = 0;
    }
    y = mt[r->index++];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= (y >> 18);
    return y;
}

/* getrandbits(k) for 1 <= k <= 64 */
static unsigned long long mt_getrandbits(MTObject *r, int k) {
    unsigned long long v = 0;
    for (int i = 0; k > 0; i++, k -= 32) {
        uint32_t w = mt_next(r);
        if (k < 32)
            w >>= (32 - k);
        v |= (unsigned long long)w << (32 * i);
    }
    return v;
}

/* The stream behind `bits` (a bound getrandbits) when C may draw from it, else NULL. */
static MTObject *mt_stream(PyObject *bits) {
    if (mt_type == NULL || !PyCFunction_Check(bits) || PyCFunction_GET_FUNCTION(bits) != mt_method)
        return NULL;
    PyObject *self = PyCFunction_GET_SELF(bits);
    return self != NULL && PyObject_TypeCheck(self, mt_type) ? (MTObject *)self : NULL;
}

/* Checks the layout assumption on this interpreter (see above); leaves mt_type NULL if it fails. */
static int mt_check(void) {
    PyObject *mod = PyImport_ImportModule("_random");
    if (!mod)
        return -1;
    PyObject *type = PyObject_GetAttrString(mod, "Random");
    Py_DECREF(mod);
    if (!type)
        return -1;
    PyObject *a = NULL, *b = NULL, *bits = NULL;
    int ok = PyType_Check(type) && ((PyTypeObject *)type)->tp_basicsize >= (Py_ssize_t)sizeof(MTObject);
    if (ok) {
        a = PyObject_CallFunction(type, "i", 20260101);
        b = PyObject_CallFunction(type, "i", 20260101);
        bits = b ? PyObject_GetAttrString(b, "getrandbits") : NULL;
        if (!a || !bits) {
            Py_XDECREF(a);
            Py_XDECREF(b);
            Py_XDECREF(bits);
            Py_DECREF(type);
            return -1;
        }
        ok = PyCFunction_Check(bits) && ((MTObject *)a)->index >= 0 && ((MTObject *)a)->index <= MT_N;
        static const int widths[] = {32, 1, 2, 7, 31, 33, 40, 63, 64};
        for (int i = 0; ok && i < 1500; i++) { /* 1500 draws and more words: past two refills */
            int k = widths[i % 9];
            unsigned long long mine = mt_getrandbits((MTObject *)a, k);
            PyObject *o = PyObject_CallFunction(bits, "i", k);
            if (!o) {
                ok = -1;
                break;
            }
            unsigned long long theirs = PyLong_AsUnsignedLongLong(o);
            Py_DECREF(o);
            if (theirs == (unsigned long long)-1 && PyErr_Occurred()) {
                ok = -1;
                break;
            }
            ok = mine == theirs;
        }
    }
    if (ok == 1) {
        mt_type = (PyTypeObject *)Py_NewRef(type);
        mt_method = PyCFunction_GET_FUNCTION(bits);
    }
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_XDECREF(bits);
    Py_DECREF(type);
    return ok < 0 ? -1 : 0;
}

int steps_init(void) {
    str_now = PyUnicode_InternFromString("_now");
    if (!str_now)
        return -1;
    return mt_check();
}

/* For tests: whether the lane draws the policies' random numbers in C on this interpreter. */
PyObject *native_streams(PyObject *mod, PyObject *unused) {
    (void)mod;
    (void)unused;
    return PyBool_FromLong(mt_type != NULL);
}

/* ---- PCT (schedulers/pct.py) ---- */

static int attr_ll(PyObject *o, const char *name, long long *out) {
    PyObject *v = PyObject_GetAttrString(o, name);
    if (!v)
        return -1;
    if (v == Py_None) {
        *out = -1;
    } else {
        *out = PyLong_AsLongLong(v);
    }
    Py_DECREF(v);
    return *out == -1 && PyErr_Occurred() ? -1 : 0;
}

static int pct_init(LaneObject *L, PyObject *pct) {
    PyObject *position = PyObject_GetAttrString(pct, "_position");
    PyObject *lowered = position ? PyObject_GetAttrString(pct, "_lowered") : NULL;
    PyObject *changes = lowered ? PyObject_GetAttrString(pct, "_change_points") : NULL;
    long long visible = 0;
    int ok = changes && PyDict_Check(position) && PyDict_Check(lowered) && PyDict_Check(changes) &&
             attr_ll(pct, "depth", &L->pct_depth) == 0 && attr_ll(pct, "steps_estimate", &L->pct_k) == 0 &&
             attr_ll(pct, "_visible_steps", &visible) == 0;
    if (ok) {
        Py_ssize_t n = PyDict_GET_SIZE(changes), pos = 0, i = 0;
        long long *steps = PyMem_Calloc(n ? n : 1, sizeof(long long));
        PyObject *key, *value;
        ok = steps != NULL;
        while (ok && PyDict_Next(changes, &pos, &key, &value)) {
            steps[i] = PyLong_AsLongLong(key);
            ok = !(steps[i] == -1 && PyErr_Occurred());
            i++;
        }
        if (ok) {
            PyMem_Free(L->pct_changes);
            L->pct_changes = steps;
            L->pct_nchanges = n;
        } else {
            PyMem_Free(steps);
            if (!PyErr_Occurred())
                PyErr_NoMemory();
        }
    } else if (!PyErr_Occurred()) {
        PyErr_SetString(PyExc_TypeError, "pct: not a Pct policy");
    }
    if (ok) {
        Py_XSETREF(L->pct, Py_NewRef(pct));
        Py_XSETREF(L->pct_position, Py_NewRef(position));
        Py_XSETREF(L->pct_lowered, Py_NewRef(lowered));
        L->pct_visible = visible != 0;
    }
    Py_XDECREF(position);
    Py_XDECREF(lowered);
    Py_XDECREF(changes);
    return ok ? 0 : -1;
}

/* The policy's counters into the loop (run's start, after the policy itself decided). */
static int pct_read(LaneObject *L) {
    long long last;
    if (attr_ll(L->pct, "_steps", &L->pct_steps) < 0 || attr_ll(L->pct, "_choices", &L->pct_choices) < 0 ||
        attr_ll(L->pct, "max_steps_seen", &L->pct_max_seen) < 0 || attr_ll(L->pct, "_last", &last) < 0)
        return -1;
    L->pct_last = (int)last;
    return 0;
}

static int set_ll(PyObject *o, const char *name, long long v) {
    PyObject *x = v < 0 ? Py_NewRef(Py_None) : PyLong_FromLongLong(v);
    if (!x)
        return -1;
    int rc = PyObject_SetAttrString(o, name, x);
    Py_DECREF(x);
    return rc;
}

/* The loop's counters back into the policy (before it decides itself, and at run's end). */
static int pct_write(LaneObject *L) {
    if (set_ll(L->pct, "_steps", L->pct_steps) < 0 || set_ll(L->pct, "_choices", L->pct_choices) < 0 ||
        set_ll(L->pct, "max_steps_seen", L->pct_max_seen) < 0 || set_ll(L->pct, "_last", L->pct_last) < 0)
        return -1;
    return 0;
}

static int lane_init(LaneObject *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"execution", "fuel", "slice", "tick_ns", "max_steps", "wall_deadline_ns", "policy",
                            "policy_slice", "choice_bits", "slice_bits", "decisions", "slices", "stay", "clock",
                            "interrupted", "pick", "slice_for", "reasons", "pct", NULL};
    PyObject *exec, *choice, *slicebits, *decisions, *slices, *clock, *interrupted;
    PyObject *py_pick = Py_None, *py_slice = Py_None, *reasons = Py_None, *pct = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!pLLLLiLOOOOLOO!|OOOO", names, &ExecType, &exec, &self->fuel,
                                     &self->slice, &self->tick_ns, &self->max_steps, &self->wall_deadline_ns,
                                     &self->policy, &self->policy_slice, &choice, &slicebits, &decisions, &slices,
                                     &self->stay, &clock, &PyList_Type, &interrupted, &py_pick, &py_slice, &reasons,
                                     &pct))
        return -1;
    if (self->policy == POLICY_PCT && pct_init(self, pct) < 0)
        return -1;
    if ((self->policy == POLICY_PYTHON || self->policy == POLICY_PCT) &&
        (!PyCallable_Check(py_pick) || !PyCallable_Check(py_slice) || !PyTuple_Check(reasons) ||
         PyTuple_GET_SIZE(reasons) <= R_GAVE_UP)) {
        PyErr_SetString(PyExc_ValueError, "the python policy needs pick, slice_for and the reasons tuple");
        return -1;
    }
    if (PyList_GET_SIZE(interrupted) != 1) {
        PyErr_SetString(PyExc_ValueError, "interrupted must be a one-item list");
        return -1;
    }
    if (self->policy != POLICY_RR && self->policy != POLICY_RANDOM && self->policy != POLICY_PYTHON &&
        self->policy != POLICY_PCT) {
        PyErr_SetString(PyExc_ValueError, "unknown native policy");
        return -1;
    }
    if (self->slice < 1 || self->policy_slice < 1 || (!self->fuel && self->tick_ns < 1)) {
        PyErr_SetString(PyExc_ValueError, "slice, policy_slice and tick_ns must be >= 1");
        return -1;
    }
    if (self->stay < 0) {
        PyErr_SetString(PyExc_ValueError, "stay must be >= 0");
        return -1;
    }
    Py_XSETREF(self->exec, (ExecObject *)Py_NewRef(exec));
    Py_XSETREF(self->choice_bits, Py_NewRef(choice));
    Py_XSETREF(self->slice_bits, Py_NewRef(slicebits));
    /* borrowed: each bound method holds its stream */
    self->choice_mt = mt_stream(choice);
    self->slice_mt = mt_stream(slicebits);
    Py_XSETREF(self->decisions, Py_NewRef(decisions));
    Py_XSETREF(self->slices, Py_NewRef(slices));
    Py_XSETREF(self->clock, Py_NewRef(clock));
    Py_XSETREF(self->interrupted, Py_NewRef(interrupted));
    Py_XSETREF(self->py_pick, Py_NewRef(py_pick));
    Py_XSETREF(self->py_slice, Py_NewRef(py_slice));
    Py_XSETREF(self->reasons, Py_NewRef(reasons));
    self->current = -1;
    self->rr_last = -1;
    return 0;
}

static int lane_clear(LaneObject *self) {
    self->choice_mt = self->slice_mt = NULL;
    Py_CLEAR(self->exec);
    Py_CLEAR(self->choice_bits);
    Py_CLEAR(self->slice_bits);
    Py_CLEAR(self->decisions);
    Py_CLEAR(self->slices);
    Py_CLEAR(self->clock);
    Py_CLEAR(self->interrupted);
    Py_CLEAR(self->py_pick);
    Py_CLEAR(self->py_slice);
    Py_CLEAR(self->reasons);
    Py_CLEAR(self->pct);
    Py_CLEAR(self->pct_position);
    Py_CLEAR(self->pct_lowered);
    PyMem_Free(self->pct_changes);
    self->pct_changes = NULL;
    self->pct_nchanges = 0;
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
    Py_VISIT(self->py_pick);
    Py_VISIT(self->py_slice);
    Py_VISIT(self->reasons);
    Py_VISIT(self->pct);
    Py_VISIT(self->pct_position);
    Py_VISIT(self->pct_lowered);
    return 0;
}

static void lane_dealloc(LaneObject *self) {
    PyObject_GC_UnTrack(self);
    lane_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* random.Random.randrange(n) for n >= 1: getrandbits(n.bit_length()) until below n; in C on
 * `mt` when it is not NULL (the same draws), else through the stream's `getrandbits`. */
static long long rand_below(MTObject *mt, PyObject *getrandbits, long long n) {
    int k = 0;
    for (unsigned long long v = (unsigned long long)n; v; v >>= 1)
        k++;
    if (mt != NULL) {
        unsigned long long r;
        do
            r = mt_getrandbits(mt, k);
        while (r >= (unsigned long long)n);
        return (long long)r;
    }
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

/* The index of the first slot of `run` (tid order) whose tid is >= `tid`. */
static Py_ssize_t lower_bound(SlotObject **run, Py_ssize_t n, int tid) {
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if (run[mid]->tid < tid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* A Python policy's pick (POLICY_PYTHON), called as the serial driver's Python loop calls it:
 * (runnable tids in order, the current thread if it is among them else None, the reason). The
 * policy records its own decisions (Recording); a tid that cannot run is the policy's error. */
static int python_pick(LaneObject *L, SlotObject **run, Py_ssize_t n, int current) {
    PyObject *tids = PyList_New(n);
    if (!tids)
        return -1;
    int current_runs = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = PyLong_FromLong(run[i]->tid);
        if (!o) {
            Py_DECREF(tids);
            return -1;
        }
        PyList_SET_ITEM(tids, i, o);
        current_runs |= run[i]->tid == current;
    }
    PyObject *cur = current_runs ? PyLong_FromLong(current) : Py_NewRef(Py_None);
    if (!cur) {
        Py_DECREF(tids);
        return -1;
    }
    PyObject *argv[3] = {tids, cur, PyTuple_GET_ITEM(L->reasons, L->reason)};
    lane_clock_enter_python();
    PyObject *r = PyObject_Vectorcall(L->py_pick, argv, 3, NULL);
    lane_clock_left_python();
    Py_DECREF(tids);
    Py_DECREF(cur);
    if (!r)
        return -1;
    long tid = PyLong_AsLong(r);
    Py_DECREF(r);
    if (tid == -1 && PyErr_Occurred())
        return -1;
    Py_ssize_t at = lower_bound(run, n, (int)tid);
    if (tid < 0 || tid > INT32_MAX || at >= n || run[at]->tid != tid) {
        PyErr_Format(PyExc_RuntimeError, "wasmconc: the scheduling policy picked thread %ld, which cannot run now",
                     tid);
        return -1;
    }
    return (int)tid;
}

/* A thread's PCT priority (Pct._priority), or -1 (an exception set) when it is not ranked. */
static long long pct_priority(LaneObject *L, int tid) {
    PyObject *key = PyLong_FromLong(tid);
    if (!key)
        return -2;
    PyObject *v = PyDict_GetItemWithError(L->pct_lowered, key);
    long long base = 0;
    if (v == NULL && !PyErr_Occurred()) {
        v = PyDict_GetItemWithError(L->pct_position, key);
        base = L->pct_depth;
    }
    Py_DECREF(key);
    if (v == NULL)
        return PyErr_Occurred() ? -2 : -1;
    long long p = PyLong_AsLongLong(v);
    if (p == -1 && PyErr_Occurred())
        return -2;
    return base + p;
}

/* Pct.pick: the common decisions here, the rest (a change point, a thread not yet ranked) by the policy. */
static int pct_pick(LaneObject *L, SlotObject **run, Py_ssize_t n, int current) {
    long long best = -1;
    int choice = -1, ranked = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        long long p = pct_priority(L, run[i]->tid);
        if (p == -2)
            return -1;
        if (p < 0) {
            ranked = 0;
            break;
        }
        if (p > best) { /* max(runnable, key=priority): priorities are distinct */
            best = p;
            choice = run[i]->tid;
        }
    }
    /* a step (the paper's): a decision with a choice, only at quantum ends when steps are the hot accesses */
    int step = n > 1 && !(L->pct_visible && L->reason != R_PREEMPTED);
    int change = 0;
    for (Py_ssize_t i = 0; step && i < L->pct_nchanges; i++)
        change |= L->pct_changes[i] == L->pct_steps + 1;
    if (!ranked || change) {
        /* the policy decides with the loop's counters (it registers, or lowers a priority), then the
         * loop reads them back */
        if (pct_write(L) < 0)
            return -1;
        choice = python_pick(L, run, n, current);
        return choice < 0 || pct_read(L) < 0 ? -1 : choice;
    }
    if (n > 1) {
        L->pct_choices++;
        if (step && ++L->pct_steps > L->pct_max_seen)
            L->pct_max_seen = L->pct_steps;
        if (L->pct_steps > L->pct_k) { /* the fair tail */
            long long i = rand_below(L->choice_mt, L->choice_bits, n);
            if (i < 0)
                return -1;
            choice = run[i]->tid;
        }
    }
    L->pct_last = choice;
    return choice;
}

/* Policy.pick over the runnable slots (in tid order), then Recording's note of it. */
static int pick(LaneObject *L, SlotObject **run, Py_ssize_t n, int current) {
    int choice;
    L->picks++;
    if (L->policy == POLICY_PYTHON)
        return python_pick(L, run, n, current);
    if (L->policy == POLICY_PCT) {
        choice = pct_pick(L, run, n, current);
        return choice < 0 || append_int(L->decisions, choice) < 0 ? -1 : choice;
    }
    if (L->policy == POLICY_RR) {
        Py_ssize_t at = lower_bound(run, n, current);
        int in_runnable = current >= 0 && at < n && run[at]->tid == current;
        int position = in_runnable ? current : L->rr_last;
        choice = run[0]->tid;
        if (position >= 0) {
            Py_ssize_t next = lower_bound(run, n, position + 1); /* the first tid > position */
            if (next < n)
                choice = run[next]->tid;
        }
        L->rr_last = choice;
    } else if (n == 1) {
        choice = run[0]->tid; /* RandomWalk.pick: no choice, no randomness drawn */
    } else {
        choice = -1;
        /* RandomWalk.pick: at a yield point, the execution's stickiness first (STAY_WEIGHTS) */
        if (L->stay > 0 && L->reason == R_YIELDED && current >= 0) {
            Py_ssize_t at = lower_bound(run, n, current);
            if (at < n && run[at]->tid == current) {
                long long keep = rand_below(L->choice_mt, L->choice_bits, L->stay + 1);
                if (keep < 0)
                    return -1;
                if (keep != 0)
                    choice = current;
            }
        }
        if (choice < 0) {
            long long i = rand_below(L->choice_mt, L->choice_bits, n);
            if (i < 0)
                return -1;
            choice = run[i]->tid;
        }
    }
    if (append_int(L->decisions, choice) < 0)
        return -1;
    return choice;
}

static long long slice_for(LaneObject *L, int tid) {
    long long q;
    if (L->policy == POLICY_PYTHON) {
        lane_clock_enter_python();
        PyObject *r = PyObject_CallFunction(L->py_slice, "i", tid);
        lane_clock_left_python();
        if (!r)
            return -1;
        q = PyLong_AsLongLong(r);
        Py_DECREF(r);
        if (q == -1 && PyErr_Occurred())
            return -1;
        if (q < 1) {
            PyErr_Format(PyExc_RuntimeError, "wasmconc: the scheduling policy gave a quantum of %lld (>= 1)", q);
            return -1;
        }
        return q; /* recorded by the policy itself */
    }
    if (L->policy == POLICY_RR) {
        q = L->policy_slice;
    } else {
        long long r = rand_below(L->slice_mt, L->slice_bits, 2 * L->policy_slice - 1);
        if (r < 0)
            return -1;
        q = 1 + r;
    }
    if (append_int(L->slices, q) < 0)
        return -1;
    return q;
}

/* The virtual clock of the running lane (fuel mode). Every step moves it by the units its
 * quantum used; through the Python object's attribute that was a lookup, a new int and a
 * store per step. The lane keeps the time here instead and publishes it to the clock
 * (`_now`) only when Python code may read or move it: before every Python host call, the
 * lane's own calls into Python and its return (lane_clock_enter_python), reading it back
 * after them (`stale`). Python sees the same time at the same points as before, so the
 * decisions, slices and every time a guest reads are unchanged. One lane runs on an OS
 * thread at a time (a host call runs on its guest's fiber, on the lane's thread). */
typedef struct {
    PyObject *clock;
    long long now;
    int dirty; /* `now` moved since it was last published */
    int stale; /* Python ran since `now` was read: the clock may have moved */
} LaneClock;

static _Thread_local LaneClock *lane_clock;

static int clock_read(LaneClock *c) {
    PyObject *o = PyObject_GetAttr(c->clock, str_now);
    if (!o)
        return -1;
    long long value = PyLong_AsLongLong(o);
    Py_DECREF(o);
    if (value == -1 && PyErr_Occurred())
        return -1;
    c->now = value;
    c->stale = 0;
    return 0;
}

static int clock_publish(LaneClock *c) {
    if (!c->dirty)
        return 0;
    PyObject *o = PyLong_FromLongLong(c->now);
    if (!o)
        return -1;
    int rc = PyObject_SetAttr(c->clock, str_now, o);
    Py_DECREF(o);
    if (rc == 0)
        c->dirty = 0;
    return rc;
}

void lane_clock_enter_python(void) {
    LaneClock *c = lane_clock;
    if (c && clock_publish(c) < 0)
        PyErr_WriteUnraisable(c->clock); /* an int that cannot be made: the host call reads the older time */
}

void lane_clock_left_python(void) {
    if (lane_clock)
        lane_clock->stale = 1;
}

/* The virtual clock moved on by `used` units, and its reading into *now: fresh, since host
 * calls during the poll may have moved it too. */
static int advance_clock(LaneClock *c, long long used, long long *now) {
    if (c->stale && clock_read(c) < 0)
        return -1;
    if (used > 0) {
        c->now += used;
        c->dirty = 1;
    }
    *now = c->now;
    return 0;
}

static int call_tid(PyObject *fn, int tid) {
    if (!fn) {
        PyErr_SetString(PyExc_RuntimeError, "wasmconc: internal error: the execution was released");
        return -1;
    }
    lane_clock_enter_python();
    PyObject *r = PyObject_CallFunction(fn, "i", tid);
    lane_clock_left_python();
    if (!r)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* Make room for `n` slots in the run array (it grows with the threads: a
 * step may spawn threads, so it is checked before every step). */
static int reserve_run(SlotObject ***run, Py_ssize_t *capacity, Py_ssize_t n) {
    if (n <= *capacity)
        return 0;
    Py_ssize_t cap = *capacity ? *capacity : 16;
    while (cap < n)
        cap *= 2;
    SlotObject **grown = PyMem_Realloc(*run, cap * sizeof(SlotObject *));
    if (!grown) {
        PyErr_NoMemory();
        return -1;
    }
    *run = grown;
    *capacity = cap;
    return 0;
}

/* Steps while every active thread is runnable; see the module comment for when it returns. */
static PyObject *lane_run(LaneObject *L, PyObject *unused) {
    (void)unused;
    ExecObject *e = L->exec;
    SlotObject **run = NULL;
    Py_ssize_t run_capacity = 0;
    PyObject *result = NULL;
    int code = RUN_PYTHON_STEP;
    long long vnow = 0;
    LaneClock clock = {L->clock, 0, 0, 1};
    LaneClock *outer = lane_clock;
    if (L->fuel) {
        if (advance_clock(&clock, 0, &vnow) < 0)
            goto fail;
        lane_clock = &clock;
    }
    if (L->policy == POLICY_PCT && pct_read(L) < 0)
        goto fail;
    for (;;) {
        if (e->ended)
            break;
        if (L->wall_deadline_ns >= 0 && monotonic_ns() >= L->wall_deadline_ns)
            break;
        /* a deadline of the driver's timer heap is due: Python wakes the sleeper */
        if (e->next_deadline_ns >= 0 && (L->fuel ? vnow : monotonic_ns()) >= e->next_deadline_ns)
            break;
        /* serial._runnable over the active set (blocked and timed-parked
         * threads are not in it). When every active thread can run as it is
         * (the counts say so), the active set is the runnable list: no scan. */
        SlotObject **runnable = e->active;
        Py_ssize_t n = e->nactive;
        if (e->nstalled > 0) {
            /* a woken futex waiter becomes runnable; any other parked thread
             * (another kind of wait) needs Python to decide */
            if (reserve_run(&run, &run_capacity, e->nactive) < 0)
                goto fail;
            int eligible = 1;
            n = 0;
            for (Py_ssize_t i = 0; i < e->nactive; i++) {
                SlotObject *s = e->active[i];
                if (s->state == ST_PARKED && s->blocked == WOKEN) {
                    if (s->native_wait) {
                        /* Execution.try_wake of a woken futex wait with no timeout: nothing of it is in Python */
                        if (slot_set_state(s, ST_RUNNABLE) < 0 || slot_set_blocked(s, 0) < 0)
                            goto fail;
                    } else if (call_tid(e->wake, s->tid) < 0) {
                        goto fail; /* Python's try_wake: its wait has a deadline or a Python result */
                    }
                }
                if (s->state == ST_NEW || (s->state == ST_RUNNABLE && s->future != NULL)) {
                    run[n++] = s;
                    continue;
                }
                eligible = 0;
                break;
            }
            if (!eligible)
                break;
            runnable = run;
        }
        if (n == 0)
            break;
        if (L->max_steps >= 0 && L->steps - e->idle_since >= L->max_steps)
            break;
        L->steps++;
        /* Execution.alone: every other live thread is blocked with no deadline */
        int solo = n == 1 && e->ntimed == 0;
        SlotObject *t = runnable[0];
        if (!solo) {
            int tid = pick(L, runnable, n, L->current);
            if (tid < 0)
                goto fail;
            t = runnable[lower_bound(runnable, n, tid)];
        }
        if (t->state == ST_NEW && call_tid(e->start, t->tid) < 0)
            goto fail;
        if (t->future == NULL) {
            PyErr_SetString(PyExc_RuntimeError, "wasmconc: internal error: a started thread has no future");
            goto fail;
        }
        long long began = 0;
        if (L->fuel) {
            long long q = solo ? L->slice * SOLO_SLICES : slice_for(L, t->tid);
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
        exec_begin_points(e, L->max_steps >= 0 ? L->max_steps - (L->steps - e->idle_since) : -1, L->slice);
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
            note_atomic_progress(t);
            long long used = fuel_used(t);
            if (advance_clock(&clock, used, &vnow) < 0)
                goto fail;
            if (solo && used / L->slice > 1)
                L->steps += used / L->slice - 1;
            L->steps += exec_point_steps(e, L->slice);
        } else if (solo) {
            long long ticks = (monotonic_ns() - began) / L->tick_ns;
            if (ticks > 1)
                L->steps += ticks - 1;
        }
        /* serial._after_poll's reason: Python host calls may have run during
         * the poll; what they changed is mirrored in the slots and the exec */
        if (t->wait_kind == 2)
            L->reason = R_BLOCKED;
        else if (t->wait_kind == 3)
            L->reason = e->spawned ? R_SPAWNED : R_GAVE_UP;
        else if (t->wait_kind == 1 || t->yield_kind == YIELD_SCHED)
            L->reason = e->spawned ? R_SPAWNED : R_YIELDED;
        else
            L->reason = R_PREEMPTED;
        if (e->progressed) {
            e->progressed = 0;
            e->idle_since = L->steps;
        }
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
    if (L->policy == POLICY_PCT) {
        /* Python takes over: the policy's counters are where the loop left them */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (pct_write(L) < 0)
            Py_CLEAR(result);
        if (type) {
            PyErr_Clear();
            PyErr_Restore(type, value, tb);
        }
    }
    if (lane_clock == &clock) {
        /* Python takes over: it reads the time the steps moved it to */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (clock_publish(&clock) < 0)
            Py_CLEAR(result);
        lane_clock = outer;
        if (type) {
            PyErr_Clear();
            PyErr_Restore(type, value, tb);
        }
    }
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

PyTypeObject LaneType = {
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

