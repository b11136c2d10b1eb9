/* pthread_cond.c - condition variables of the pytest-wasmconc pthread layer.
 *
 * A sequence counter: a waiter reads COND_SEQ, releases the mutex, and
 * memory.atomic.wait32's on the counter still holding the value it read; signal /
 * broadcast increment the counter and notify one / all waiters.  A signal between the
 * read and the wait changes the counter, so the wait returns at once (no lost wakeup).
 * Spurious wakeups are possible, as POSIX allows. */
#include "pthread_impl.h"

__attribute__((noinline))
int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *attr) {
    for (unsigned i = 0; i < sizeof c->__u.__i / sizeof c->__u.__i[0]; i++)
        c->__u.__i[i] = 0;
    if (attr) COND_CLOCK(c) = (int)attr->__attr;
    return 0;
}

__attribute__((noinline))
int pthread_cond_destroy(pthread_cond_t *c) { (void)c; return 0; }

static int cond_wait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abstime) {
    int *seq = COND_SEQ(c);
    int64_t timeout = -1;
    if (abstime) {
        if (abstime->tv_nsec < 0 || abstime->tv_nsec >= 1000000000) return EINVAL;
        timeout = __wasmconc_timeout_ns(COND_CLOCK(c) ? CLOCK_MONOTONIC : CLOCK_REALTIME,
                                        abstime);
        if (timeout == 0) return ETIMEDOUT;
    }
    int s = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
    pthread_mutex_unlock(m);
    int r = __wasmconc_futex_wait(seq, s, timeout);
    pthread_mutex_lock(m);
    return r == 2 ? ETIMEDOUT : 0;
}

__attribute__((noinline))
int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m) {
    return cond_wait(c, m, 0);
}

__attribute__((noinline))
int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                           const struct timespec *abstime) {
    return cond_wait(c, m, abstime);
}

__attribute__((noinline))
int pthread_cond_signal(pthread_cond_t *c) {
    __atomic_fetch_add(COND_SEQ(c), 1, __ATOMIC_RELEASE);
    __wasmconc_futex_wake(COND_SEQ(c), 1);
    return 0;
}

__attribute__((noinline))
int pthread_cond_broadcast(pthread_cond_t *c) {
    __atomic_fetch_add(COND_SEQ(c), 1, __ATOMIC_RELEASE);
    __wasmconc_futex_wake(COND_SEQ(c), WAKE_ALL);
    return 0;
}

int pthread_condattr_init(pthread_condattr_t *attr) { attr->__attr = 0; return 0; }
int pthread_condattr_destroy(pthread_condattr_t *attr) { (void)attr; return 0; }
int pthread_condattr_setclock(pthread_condattr_t *attr, clockid_t clock) {
    if (clock == CLOCK_REALTIME) attr->__attr = 0;
    else if (clock == CLOCK_MONOTONIC) attr->__attr = 1;
    else return EINVAL;
    return 0;
}
