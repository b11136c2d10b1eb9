/* trylock_backoff: two threads need locks A and B in opposite orders, but the second
 * never waits for its second lock: it tries it, and on failure releases what it holds,
 * yields and starts over (a back-off).  No schedule deadlocks, and since a trylock never
 * waits, the B -> A order it takes closes no lock-order cycle.
 * Usage: trylock_backoff.wasm [ROUNDS=1].  Prints "backoffs=K" (how often the second
 * thread had to back off) and exits 0. */
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <pthread.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static volatile int work, backoffs;
static int rounds = 1;

WASMCONC_NOINLINE void trylock_backoff_work(int who) { work += who; }

static void *takes_a_then_b(void *arg) {
    (void)arg;
    for (int i = 0; i < rounds; i++) {
        pthread_mutex_lock(&lock_a);
        trylock_backoff_work(1);
        pthread_mutex_lock(&lock_b);
        pthread_mutex_unlock(&lock_b);
        pthread_mutex_unlock(&lock_a);
    }
    return 0;
}

static void *takes_b_then_tries_a(void *arg) {
    (void)arg;
    for (int i = 0; i < rounds; i++) {
        for (;;) {
            pthread_mutex_lock(&lock_b);
            trylock_backoff_work(2);
            if (pthread_mutex_trylock(&lock_a) == 0) break;
            pthread_mutex_unlock(&lock_b);  /* back off: never wait while holding B */
            backoffs++;
            sched_yield();
        }
        pthread_mutex_unlock(&lock_a);
        pthread_mutex_unlock(&lock_b);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1) rounds = atoi(argv[1]);
    pthread_t t1, t2;
    if (pthread_create(&t1, 0, takes_a_then_b, 0) || pthread_create(&t2, 0, takes_b_then_tries_a, 0)) {
        fputs("trylock_backoff: pthread_create failed\n", stderr);
        return 2;
    }
    pthread_join(t1, 0);
    pthread_join(t2, 0);
    printf("backoffs=%d\n", backoffs);
    return 0;
}
