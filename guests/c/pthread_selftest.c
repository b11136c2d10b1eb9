/* pthread_selftest: checks the project's pthread layer itself (not a concurrency
 * bug): per-thread TLS and pthread_self, pthread_equal, thread return values,
 * trylock, pthread_once run exactly once, condition broadcast waking every waiter,
 * timedwait timing out, detached threads, stack size attribute.
 * Prints "pthread_selftest: ok" and exits 0; on a failed check prints it, exit 1. */
#include <stdio.h>
#include <errno.h>
#include <time.h>
#include <sched.h>
#include <pthread.h>

#define NWAITERS 3

static _Thread_local int tls_value = 7;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs, go, waiting, detached_done;
static int failures;

#define CHECK(c) do { if (!(c)) { printf("FAILED: %s (line %d)\n", #c, __LINE__); failures++; } } while (0)

static void init_once(void) { once_runs++; }

static void *tls_thread(void *arg) {
    int id = (int)(long)arg;
    pthread_once(&once, init_once);
    if (tls_value != 7) return (void *)-1L;  /* fresh TLS image in every thread */
    tls_value = 100 + id;
    return (void *)(long)(tls_value + (pthread_self() != 0 ? 0 : 1000));
}

static void *waiter(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    waiting++;
    while (!go)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    return 0;
}

static void *detached(void *arg) {
    (void)arg;
    __atomic_store_n(&detached_done, 1, __ATOMIC_RELEASE);
    return 0;
}

int main(void) {
    pthread_t main_self = pthread_self();
    CHECK(pthread_equal(main_self, pthread_self()));

    /* TLS, pthread_self, return values, pthread_once, small stacks */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    CHECK(pthread_attr_setstacksize(&attr, 16384) == 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], i & 1 ? &attr : 0, tls_thread, (void *)(long)i) == 0);
    for (int i = 0; i < 4; i++) {
        void *r = 0;
        CHECK(pthread_join(t[i], &r) == 0);
        CHECK((long)r == 100 + i);
        CHECK(!pthread_equal(t[i], main_self));
    }
    CHECK(tls_value == 7);
    CHECK(once_runs == 1);

    /* trylock */
    CHECK(pthread_mutex_trylock(&lock) == 0);
    CHECK(pthread_mutex_trylock(&lock) == EBUSY);
    CHECK(pthread_mutex_unlock(&lock) == 0);

    /* broadcast wakes all waiters */
    pthread_t w[NWAITERS];
    for (int i = 0; i < NWAITERS; i++)
        CHECK(pthread_create(&w[i], 0, waiter, 0) == 0);
    for (;;) {
        pthread_mutex_lock(&lock);
        int n = waiting;
        if (n == NWAITERS) { go = 1; pthread_cond_broadcast(&cond); }
        pthread_mutex_unlock(&lock);
        if (n == NWAITERS) break;
        sched_yield();
    }
    for (int i = 0; i < NWAITERS; i++)
        CHECK(pthread_join(w[i], 0) == 0);

    /* timedwait times out */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    pthread_mutex_lock(&lock);
    CHECK(pthread_cond_timedwait(&cond, &lock, &ts) == ETIMEDOUT);
    pthread_mutex_unlock(&lock);

    /* detached thread */
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t d;
    CHECK(pthread_create(&d, &attr, detached, 0) == 0);
    while (!__atomic_load_n(&detached_done, __ATOMIC_ACQUIRE))
        sched_yield();
    pthread_attr_destroy(&attr);

    if (failures) return 1;
    printf("pthread_selftest: ok\n");
    return 0;
}
