/* The futex table and memory.atomic.wait/notify without Python.
 *
 * The table is the execution's only one (runtime/lane/futex.py's NativeFutexTable
 * wraps it for the Python paths): a FIFO queue per address, as the threads
 * proposal requires of notify, found through a hash table, so a wait or a
 * notify costs the same whatever the number of threads parked elsewhere.
 *
 * The native wait takes the common case only: serial mode, the shared
 * memory, memory 0, aligned and in bounds, no timeout, the thread not being
 * stopped. Everything else (including every trap) goes to the Python
 * implementation in runtime/machine/builtins.py, which this must match exactly: the
 * same results, the same parking (PARKED, blocked until a notify), the same
 * scheduling point after a notify that woke someone.
 */
#include "lane.h"

enum { WAIT_OK = 0, WAIT_NOT_EQUAL = 1 };

/* One address's waiters, oldest first. */
typedef struct FutexQueue {
    uint64_t addr;
    SlotObject *head, *tail;
    struct FutexQueue *next; /* in its hash bucket */
} FutexQueue;

static size_t bucket_of(uint64_t addr, size_t nbuckets) {
    return (size_t)((addr >> 2) * 0x9E3779B97F4A7C15ULL >> 20) & (nbuckets - 1);
}

static FutexQueue *find_queue(ExecObject *e, uint64_t addr) {
    if (!e->fnbuckets)
        return NULL;
    for (FutexQueue *q = e->fbuckets[bucket_of(addr, e->fnbuckets)]; q; q = q->next)
        if (q->addr == addr)
            return q;
    return NULL;
}

/* Grow the hash table when queues outnumber buckets (rehashing every queue). */
static int grow_buckets(ExecObject *e) {
    size_t n = e->fnbuckets ? e->fnbuckets * 2 : 64;
    FutexQueue **b = PyMem_Calloc(n, sizeof(FutexQueue *));
    if (!b)
        return -1;
    for (size_t i = 0; i < e->fnbuckets; i++) {
        FutexQueue *q = e->fbuckets[i];
        while (q) {
            FutexQueue *next = q->next;
            size_t j = bucket_of(q->addr, n);
            q->next = b[j];
            b[j] = q;
            q = next;
        }
    }
    PyMem_Free(e->fbuckets);
    e->fbuckets = b;
    e->fnbuckets = n;
    return 0;
}

int futex_enqueue(ExecObject *e, SlotObject *s, uint64_t addr) {
    if (s->queued)
        futex_cancel(e, s);
    FutexQueue *q = find_queue(e, addr);
    if (!q) {
        if ((e->fnqueues + 1 > e->fnbuckets) && grow_buckets(e) < 0)
            return -1;
        q = PyMem_Malloc(sizeof(FutexQueue));
        if (!q)
            return -1;
        size_t j = bucket_of(addr, e->fnbuckets);
        q->addr = addr;
        q->head = q->tail = NULL;
        q->next = e->fbuckets[j];
        e->fbuckets[j] = q;
        e->fnqueues++;
    }
    s->futex_addr = addr;
    s->queued = 1;
    s->woken = 0;
    s->fqueue = q;
    s->fnext = NULL;
    s->fprev = q->tail;
    if (q->tail)
        q->tail->fnext = s;
    else
        q->head = s;
    q->tail = s;
    e->fwaiting++;
    return 0;
}

static void drop_queue(ExecObject *e, FutexQueue *q) {
    FutexQueue **link = &e->fbuckets[bucket_of(q->addr, e->fnbuckets)];
    while (*link != q)
        link = &(*link)->next;
    *link = q->next;
    e->fnqueues--;
    PyMem_Free(q);
}

static void unlink_waiter(ExecObject *e, SlotObject *s) {
    FutexQueue *q = s->fqueue;
    if (s->fprev)
        s->fprev->fnext = s->fnext;
    else
        q->head = s->fnext;
    if (s->fnext)
        s->fnext->fprev = s->fprev;
    else
        q->tail = s->fprev;
    s->fnext = s->fprev = NULL;
    s->fqueue = NULL;
    s->queued = 0;
    e->fwaiting--;
    if (!q->head)
        drop_queue(e, q);
}

/* Wake up to `count` waiters on `addr`, oldest first; append them to `woken` (a list) if given. */
Py_ssize_t futex_wake(ExecObject *e, uint64_t addr, uint64_t count, PyObject *woken) {
    Py_ssize_t n = 0;
    FutexQueue *q = find_queue(e, addr);
    while (q && (uint64_t)n < count) {
        SlotObject *s = q->head;
        int last = s->fnext == NULL;
        unlink_waiter(e, s); /* frees q with its last waiter */
        s->woken = 1;
        if ((s->blocked == BLOCKED || s->blocked == TIMED) && slot_set_blocked(s, WOKEN) < 0)
            return -1; /* ready now: the next step makes it runnable */
        if (woken && PyList_Append(woken, (PyObject *)s) < 0)
            return -1;
        e->progressed = 1;
        n++;
        if (last)
            q = NULL;
    }
    return n;
}

/* Remove a waiter that timed out or is being torn down; 0 if it was already woken. */
int futex_cancel(ExecObject *e, SlotObject *s) {
    if (s->woken || !s->queued)
        return 0;
    unlink_waiter(e, s);
    return 1;
}

void futex_clear(ExecObject *e) {
    for (size_t i = 0; i < e->fnbuckets; i++)
        while (e->fbuckets[i])
            unlink_waiter(e, e->fbuckets[i]->head);
    PyMem_Free(e->fbuckets);
    e->fbuckets = NULL;
    e->fnbuckets = 0;
}

/* The native wait's continuation: suspended once parked; resumed after the thread was woken. */
static bool wait_continuation(void *env) {
    SlotObject *s = (SlotObject *)env;
    if (!s->suspended) {
        s->suspended = 1;
        return false;
    }
    s->suspended = 0;
    if (s->kill) {
        /* stopped for a report: the wait stays on record (the report names it), as in Python */
        if (s->exec && s->queued)
            futex_cancel(s->exec, s);
        *s->trap_ret = new_trap(s->kill);
        return true;
    }
    s->native_wait = 0;
    s->wait_kind = 0;
    return true;
}

static void set_i32(wt_val *v, int32_t x) {
    v->kind = 0; /* WASMTIME_I32 */
    v->of.i32 = x;
}

/* Whether [ea, ea + width) is inside the shared memory (refreshing its size once if not). */
static int in_shared_memory(ExecObject *e, unsigned __int128 ea, int width) {
    if (!e->mem_base)
        return 0;
    if (e->vmem_pages >= 0) /* the size the guest sees (vmem.c) */
        return ea + width <= exec_memory_bytes(e);
    if (ea + width <= e->mem_size)
        return 1;
    e->mem_size = p_sharedmemory_data_size(e->shared_memory);
    return ea + width <= e->mem_size;
}

/* HOST_WAIT* / HOST_NOTIFY*: *handled = 0 sends the call to the Python implementation. */
void futex_host(void *env, SlotObject *s, const wt_val *args, wt_val *results, void **trap_ret, wt_cont *cont,
                int *handled) {
    ExecObject *e = s->exec;
    *handled = 0;
    if (!e->native_futex || !e->serial || s->kill || e->ended)
        return;
    int kind = HOST_KIND(env);
    int m64 = kind == HOST_WAIT32_M64 || kind == HOST_WAIT64_M64 || kind == HOST_NOTIFY_M64;
    /* i32 arguments arrive unsigned, as in Python (_ArgsReader) */
    uint64_t addr = m64 ? (uint64_t)args[0].of.i64 : (uint32_t)args[0].of.i32;
    if (kind == HOST_NOTIFY || kind == HOST_NOTIFY_M64) {
        uint64_t count = (uint32_t)args[1].of.i32;
        uint64_t offset = m64 ? (uint64_t)args[2].of.i64 : (uint32_t)args[2].of.i32;
        if (args[3].of.i32 != 0)
            return;
        unsigned __int128 ea = (unsigned __int128)addr + offset;
        if (ea % 4 || !in_shared_memory(e, ea, 4))
            return;
        Py_ssize_t n = futex_wake(e, (uint64_t)ea, count, NULL);
        *handled = 1;
        if (n < 0) {
            PyErr_WriteUnraisable(NULL);
            *trap_ret = new_trap("wasmconc: out of memory waking threads");
            return;
        }
        set_i32(&results[0], (int32_t)n);
        if (n > 0)
            arm(s, YIELD_SCHED, trap_ret, cont); /* let the scheduler consider the woken threads */
        return;
    }
    int width = kind == HOST_WAIT32 || kind == HOST_WAIT32_M64 ? 4 : 8;
    uint64_t expected = width == 4 ? (uint32_t)args[1].of.i32 : (uint64_t)args[1].of.i64;
    int64_t timeout = args[2].of.i64;
    uint64_t offset = m64 ? (uint64_t)args[3].of.i64 : (uint32_t)args[3].of.i32;
    if (args[4].of.i32 != 0 || timeout >= 0)
        return;
    unsigned __int128 ea = (unsigned __int128)addr + offset;
    if (ea % width || !in_shared_memory(e, ea, width))
        return;
    char *p = e->mem_base + (uint64_t)ea;
    uint64_t current = width == 4 ? __atomic_load_n((uint32_t *)p, __ATOMIC_SEQ_CST)
                                  : __atomic_load_n((uint64_t *)p, __ATOMIC_SEQ_CST);
    *handled = 1;
    if (current != expected) {
        set_i32(&results[0], WAIT_NOT_EQUAL);
        if (quiet_point(e)) /* builtins.py's wait does the same */
            arm(s, YIELD_SCHED, trap_ret, cont);
        return;
    }
    /* Execution.begin_wait for a futex wait with no timeout: parked until a notify */
    if (futex_enqueue(e, s, (uint64_t)ea) < 0) {
        PyErr_WriteUnraisable(NULL);
        *trap_ret = new_trap("wasmconc: out of memory parking a thread");
        return;
    }
    s->native_wait = width;
    s->wait_expected = expected;
    s->wait_kind = 2;
    if (slot_set_state(s, ST_PARKED) < 0 || slot_set_blocked(s, BLOCKED) < 0) {
        PyErr_WriteUnraisable(NULL);
        *trap_ret = new_trap("wasmconc: out of memory parking a thread");
        return;
    }
    set_i32(&results[0], WAIT_OK); /* the only answer once woken: there is no timeout */
    s->trap_ret = trap_ret;
    s->suspended = 0;
    cont->callback = wait_continuation;
    cont->env = s;
    cont->finalizer = NULL;
}
