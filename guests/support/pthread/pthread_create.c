/* pthread_create.c - thread creation, join, detach and self for the pytest-wasmconc
 * pthread layer (wasi-threads: import `wasi.thread-spawn`, entry in
 * wasi_thread_start.s). */
#include <stdlib.h>
#include <string.h>
#include "pthread_impl.h"

__attribute__((import_module("wasi"), import_name("thread-spawn")))
int32_t __wasi_thread_spawn(void *start_arg);

/* The calling thread's control block; NULL in the main thread. Real wasm TLS:
 * initialised per thread by __wasm_init_tls in wasi_thread_start.s. */
static _Thread_local struct __pthread *__wasmconc_self;

static struct __pthread __wasmconc_main_thread = { .state = THREAD_JOINABLE };

/* Debian's wasi-libc malloc is not thread-safe: every malloc/free of the layer
 * happens under this lock.  Exited detached threads wait on the zombie list until
 * their block can be freed. */
static pthread_mutex_t __wasmconc_alloc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct __pthread *__wasmconc_zombies;

static void reap_zombies_locked(void) {
    struct __pthread **pp = &__wasmconc_zombies;
    while (*pp) {
        struct __pthread *z = *pp;
        if (__atomic_load_n(&z->finished, __ATOMIC_ACQUIRE)) {
            *pp = z->next_zombie;
            free(z->mem);
        } else {
            pp = &z->next_zombie;
        }
    }
}

static void free_thread(struct __pthread *t) {
    pthread_mutex_lock(&__wasmconc_alloc_lock);
    free(t->mem);
    pthread_mutex_unlock(&__wasmconc_alloc_lock);
}

/* Called from wasi_thread_start.s once the stack and TLS are in place. */
__attribute__((noinline, used))
void __wasmconc_thread_entry(int tid, struct __pthread *t) {
    __wasmconc_self = t;
    t->tid = tid;
    t->result = t->start_routine(t->arg);

    int expected = THREAD_JOINABLE;
    if (__atomic_compare_exchange_n(&t->state, &expected, THREAD_EXITED, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        /* A joiner may free *t as soon as it sees EXITED; notify only reads the
         * address, so it is harmless if that already happened. */
        __wasmconc_futex_wake(&t->state, WAKE_ALL);
        return;
    }
    /* Detached: park on the zombie list; the next pthread_create frees us. */
    pthread_mutex_lock(&__wasmconc_alloc_lock);
    t->next_zombie = __wasmconc_zombies;
    __wasmconc_zombies = t;
    pthread_mutex_unlock(&__wasmconc_alloc_lock);
    __atomic_store_n(&t->finished, 1, __ATOMIC_RELEASE);  /* last touch of *t */
}

__attribute__((noinline))
int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                   void *(*start_routine)(void *), void *arg) {
    size_t stack = WASMCONC_DEFAULT_STACK;
    int detached = 0;
    if (attr) {
        if (ATTR_STACKSIZE(attr)) stack = ATTR_STACKSIZE(attr);
        detached = ATTR_DETACH(attr) == PTHREAD_CREATE_DETACHED;
    }
    stack = (stack + 15) & ~(size_t)15;
    size_t tls_size = __builtin_wasm_tls_size();
    size_t tls_align = __builtin_wasm_tls_align();
    if (tls_align < 16) tls_align = 16;

    /* Layout: [stack ... stack_top][struct __pthread][pad][TLS block] */
    size_t total = stack + sizeof(struct __pthread) + tls_align + tls_size + 16;

    pthread_mutex_lock(&__wasmconc_alloc_lock);
    reap_zombies_locked();
    unsigned char *mem = malloc(total);
    pthread_mutex_unlock(&__wasmconc_alloc_lock);
    if (!mem) return EAGAIN;

    uintptr_t top = ((uintptr_t)mem + stack + 15) & ~(uintptr_t)15;
    struct __pthread *t = (struct __pthread *)top;
    memset(t, 0, sizeof *t);
    uintptr_t tls = (top + sizeof *t + tls_align - 1) & ~(uintptr_t)(tls_align - 1);
    t->stack_top = (void *)top;
    t->tls_base = (void *)tls;
    t->start_routine = start_routine;
    t->arg = arg;
    t->mem = mem;
    t->state = detached ? THREAD_DETACHED : THREAD_JOINABLE;

    int32_t tid = __wasi_thread_spawn(t);
    if (tid < 0) {
        free_thread(t);
        return EAGAIN;
    }
    *thread = t;
    return 0;
}

__attribute__((noinline))
int pthread_join(pthread_t t, void **retval) {
    if (t == pthread_self()) return EDEADLK;
    if (t == &__wasmconc_main_thread) return EINVAL;  /* main never "exits" */
    int s;
    while ((s = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE)) == THREAD_JOINABLE)
        __wasmconc_futex_wait(&t->state, THREAD_JOINABLE, -1);
    if (s != THREAD_EXITED) return EINVAL;
    if (retval) *retval = t->result;
    free_thread(t);
    return 0;
}

__attribute__((noinline))
int pthread_detach(pthread_t t) {
    if (t == &__wasmconc_main_thread) return 0;
    int expected = THREAD_JOINABLE;
    if (__atomic_compare_exchange_n(&t->state, &expected, THREAD_DETACHED, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return 0;
    if (expected == THREAD_EXITED) {  /* already over: nobody will join it */
        free_thread(t);
        return 0;
    }
    return EINVAL;
}

__attribute__((noinline))
pthread_t pthread_self(void) {
    struct __pthread *t = __wasmconc_self;
    return t ? t : &__wasmconc_main_thread;
}

int pthread_equal(pthread_t a, pthread_t b) { return a == b; }

int pthread_attr_init(pthread_attr_t *attr) {
    memset(attr, 0, sizeof *attr);
    return 0;
}
int pthread_attr_destroy(pthread_attr_t *attr) { (void)attr; return 0; }
int pthread_attr_setstacksize(pthread_attr_t *attr, size_t size) {
    if (size < 4096) return EINVAL;
    ATTR_STACKSIZE(attr) = size;
    return 0;
}
int pthread_attr_getstacksize(const pthread_attr_t *attr, size_t *size) {
    *size = ATTR_STACKSIZE(attr) ? ATTR_STACKSIZE(attr) : WASMCONC_DEFAULT_STACK;
    return 0;
}
int pthread_attr_setdetachstate(pthread_attr_t *attr, int state) {
    if (state != PTHREAD_CREATE_JOINABLE && state != PTHREAD_CREATE_DETACHED)
        return EINVAL;
    ATTR_DETACH(attr) = state;
    return 0;
}
int pthread_attr_getdetachstate(const pthread_attr_t *attr, int *state) {
    *state = ATTR_DETACH(attr);
    return 0;
}
