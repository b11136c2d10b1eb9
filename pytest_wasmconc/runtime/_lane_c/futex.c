/* The futex table and memory.atomic.wait/notify without Python.
 *
 * The table is the execution's only one (runtime/futex.py's NativeFutexTable
 * wraps it for the Python paths): every queued waiter in arrival order, which
 * is FIFO per address, as the threads proposal requires of notify. Waiters
 * are few (one per parked thread), so wake scans the list.
 *
 * The native wait takes the common case only: serial mode, the shared
 * memory, memory 0, aligned and in bounds, no timeout, the thread not being
 * stopped. Everything else (including every trap) goes to the Python
 * implementation in runtime/builtins.py, which this must match exactly: the
 * same results, the same parking (PARKED, blocked until a notify), the same
 * scheduling point after a notify that woke someone.
 */
#include "lane.h"

enum { WAIT_OK = 0, WAIT_NOT_EQUAL = 1 };

void futex_enqueue(ExecObject *e, SlotObject *s, uint64_t addr) {
    if (s->queued)
        futex_cancel(e, s);
    s->futex_addr = addr;
    s->queued = 1;
    s->woken = 0;
    s->fnext = NULL;
    s->fprev = e->ftail;
    if (e->ftail)
        e->ftail->fnext = s;
    else
        e->fhead = s;
    e->ftail = s;
}

static void unlink_waiter(ExecObject *e, SlotObject *s) {
    if (s->fprev)
        s->fprev->fnext = s->fnext;
    else
        e->fhead = s->fnext;
    if (s->fnext)
        s->fnext->fprev = s->fprev;
    else
        e->ftail = s->fprev;
    s->fnext = s->fprev = NULL;
    s->queued = 0;
}

/* Wake up to `count` waiters on `addr`, oldest first; append them to `woken` (a list) if given. */
Py_ssize_t futex_wake(ExecObject *e, uint64_t addr, uint64_t count, PyObject *woken) {
    Py_ssize_t n = 0;
    SlotObject *s = e->fhead;
    while (s && (uint64_t)n < count) {
        SlotObject *next = s->fnext;
        if (s->futex_addr == addr) {
            unlink_waiter(e, s);
            s->woken = 1;
            if (s->blocked == BLOCKED)
                s->blocked = WOKEN; /* ready now: the next step makes it runnable */
            if (woken && PyList_Append(woken, (PyObject *)s) < 0)
                return -1;
            n++;
        }
        s = next;
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
    while (e->fhead)
        unlink_waiter(e, e->fhead);
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
        set_i32(&results[0], (int32_t)n);
        if (n > 0)
            arm(s, YIELD_SCHED, trap_ret, cont); /* let the scheduler consider the woken threads */
        *handled = 1;
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
        return;
    }
    /* Execution.begin_wait for a futex wait with no timeout: parked until a notify */
    futex_enqueue(e, s, (uint64_t)ea);
    s->native_wait = width;
    s->wait_expected = expected;
    s->wait_kind = 2;
    s->state = ST_PARKED;
    s->blocked = BLOCKED;
    set_i32(&results[0], WAIT_OK); /* the only answer once woken: there is no timeout */
    s->trap_ret = trap_ret;
    s->suspended = 0;
    cont->callback = wait_continuation;
    cont->env = s;
    cont->finalizer = NULL;
}
