/* pthread_once.c - one-time initialisation and the timeout helper of the
 * pytest-wasmconc pthread layer.  once word: 0 not run, 1 running, 2 done. */
#include "pthread_impl.h"

__attribute__((noinline))
int pthread_once(pthread_once_t *once, void (*init_routine)(void)) {
    if (__atomic_load_n(once, __ATOMIC_ACQUIRE) == 2) return 0;
    int expected = 0;
    if (__atomic_compare_exchange_n(once, &expected, 1, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        init_routine();
        __atomic_store_n(once, 2, __ATOMIC_RELEASE);
        __wasmconc_futex_wake(once, WAKE_ALL);
        return 0;
    }
    while (__atomic_load_n(once, __ATOMIC_ACQUIRE) == 1)
        __wasmconc_futex_wait(once, 1, -1);
    return 0;
}

int64_t __wasmconc_timeout_ns(clockid_t clock, const struct timespec *abstime) {
    if (!abstime) return -1;
    struct timespec now;
    clock_gettime(clock, &now);
    int64_t ns = (int64_t)(abstime->tv_sec - now.tv_sec) * 1000000000
               + (abstime->tv_nsec - now.tv_nsec);
    return ns > 0 ? ns : 0;
}
