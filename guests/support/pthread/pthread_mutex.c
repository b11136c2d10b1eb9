/* pthread_mutex.c - futex mutex of the pytest-wasmconc pthread layer.
 *
 * The word MUTEX_WORD(m) follows the classic three-state protocol:
 *   0 = unlocked, 1 = locked with no waiter, 2 = locked and maybe waiters.
 * lock:   CAS 0->1; on failure swap in 2 and memory.atomic.wait32(word, 2) until the
 *         swap returns 0 (we then own it, with the word left at 2).
 * unlock: atomic decrement; if it was 2 store 0 and memory.atomic.notify one waiter.
 * The public functions are real out-of-line functions so the pytest-wasmconc
 * scheduler can find them by name in the name section. */
#include "pthread_impl.h"

__attribute__((noinline))
int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr) {
    if (attr && attr->__attr != PTHREAD_MUTEX_NORMAL) return EINVAL;
    for (unsigned i = 0; i < sizeof m->__u.__i / sizeof m->__u.__i[0]; i++)
        m->__u.__i[i] = 0;
    return 0;
}

__attribute__((noinline))
int pthread_mutex_destroy(pthread_mutex_t *m) {
    return __atomic_load_n(MUTEX_WORD(m), __ATOMIC_RELAXED) ? EBUSY : 0;
}

__attribute__((noinline))
int pthread_mutex_trylock(pthread_mutex_t *m) {
    int expected = 0;
    return __atomic_compare_exchange_n(MUTEX_WORD(m), &expected, 1, 0,
                                       __ATOMIC_ACQUIRE, __ATOMIC_RELAXED) ? 0 : EBUSY;
}

/* Slow path shared by lock and timedlock; timeout_ns < 0 waits forever. */
static int mutex_lock_slow(int *word, int c, clockid_t clock, const struct timespec *abstime) {
    if (c != 2) c = __atomic_exchange_n(word, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        int64_t timeout = -1;
        if (abstime) {
            timeout = __wasmconc_timeout_ns(clock, abstime);
            if (timeout == 0) return ETIMEDOUT;
        }
        __wasmconc_futex_wait(word, 2, timeout);
        c = __atomic_exchange_n(word, 2, __ATOMIC_ACQUIRE);
    }
    return 0;
}

__attribute__((noinline))
int pthread_mutex_lock(pthread_mutex_t *m) {
    int *word = MUTEX_WORD(m);
    int c = 0;
    if (__atomic_compare_exchange_n(word, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return 0;
    return mutex_lock_slow(word, c, CLOCK_REALTIME, 0);
}

__attribute__((noinline))
int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime) {
    int *word = MUTEX_WORD(m);
    int c = 0;
    if (__atomic_compare_exchange_n(word, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return 0;
    if (!abstime || abstime->tv_nsec < 0 || abstime->tv_nsec >= 1000000000) return EINVAL;
    return mutex_lock_slow(word, c, CLOCK_REALTIME, abstime);
}

__attribute__((noinline))
int pthread_mutex_unlock(pthread_mutex_t *m) {
    int *word = MUTEX_WORD(m);
    if (__atomic_fetch_sub(word, 1, __ATOMIC_RELEASE) != 1) {
        __atomic_store_n(word, 0, __ATOMIC_RELEASE);
        __wasmconc_futex_wake(word, 1);
    }
    return 0;
}

int pthread_mutexattr_init(pthread_mutexattr_t *attr) { attr->__attr = 0; return 0; }
int pthread_mutexattr_destroy(pthread_mutexattr_t *attr) { (void)attr; return 0; }
int pthread_mutexattr_settype(pthread_mutexattr_t *attr, int type) {
    if (type != PTHREAD_MUTEX_NORMAL) return EINVAL;  /* only NORMAL is implemented */
    attr->__attr = (unsigned)type;
    return 0;
}
int pthread_mutexattr_gettype(const pthread_mutexattr_t *attr, int *type) {
    *type = (int)attr->__attr;
    return 0;
}
