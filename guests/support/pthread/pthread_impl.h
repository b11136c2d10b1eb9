/* pthread_impl.h - internals of the pytest-wasmconc pthread layer (not for guests). */
#ifndef WASMCONC_PTHREAD_IMPL_H
#define WASMCONC_PTHREAD_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include "pthread.h"

/* Thread control block; pthread_t is `struct __pthread *` (wasi-libc's typedef).
 * The first two fields are read by wasi_thread_start.s: keep their offsets. */
struct __pthread {
    void *stack_top;                 /* offset 0: initial __stack_pointer */
    void *tls_base;                  /* offset 4: argument of __wasm_init_tls */
    void *(*start_routine)(void *);
    void *arg;
    void *result;
    void *mem;                       /* malloc'd block holding stack, TCB and TLS */
    int tid;                         /* wasi-threads tid (0 for the main thread) */
    int state;                       /* THREAD_JOINABLE / _DETACHED / _EXITED (futex) */
    int finished;                    /* detached thread: 1 once it touches *t no more */
    struct __pthread *next_zombie;   /* list of exited detached threads */
};

_Static_assert(offsetof(struct __pthread, stack_top) == 0, "wasi_thread_start.s");
_Static_assert(offsetof(struct __pthread, tls_base) == 4, "wasi_thread_start.s");

enum { THREAD_JOINABLE = 0, THREAD_DETACHED = 1, THREAD_EXITED = 2 };

/* Field use inside wasi-libc's (musl's) opaque union types. */
#define MUTEX_WORD(m) (&(m)->__u.__i[0])     /* 0 free, 1 locked, 2 locked + waiters */
#define COND_SEQ(c) (&(c)->__u.__i[0])       /* bumped by every signal/broadcast */
#define COND_CLOCK(c) ((c)->__u.__i[1])      /* 0 realtime, 1 monotonic */
#define ATTR_STACKSIZE(a) ((a)->__u.__s[0])  /* 0 = default */
#define ATTR_DETACH(a) ((a)->__u.__i[1])

#define WASMCONC_DEFAULT_STACK (64 * 1024)

/* Futex primitives on wasm atomics.  Return values of wait: 0 woken, 1 value was
 * not `expected`, 2 timed out. */
static inline int __wasmconc_futex_wait(int *addr, int expected, int64_t timeout_ns) {
    return __builtin_wasm_memory_atomic_wait32(addr, expected, timeout_ns);
}
static inline unsigned __wasmconc_futex_wake(int *addr, unsigned count) {
    return __builtin_wasm_memory_atomic_notify(addr, count);
}
#define WAKE_ALL 0xffffffffu

/* Relative timeout in ns until `abstime` on `clock`; -1 for NULL, 0 if past. */
int64_t __wasmconc_timeout_ns(clockid_t clock, const struct timespec *abstime);

#endif
