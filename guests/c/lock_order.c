/* lock_order: two mutexes A and B; thread 1 locks A then B, thread 2 locks B then A,
 * with a non-inlined call between the two locks.  If each thread gets its first lock
 * before the other's second, both block forever (a lock-order inversion deadlock).
 * When they do not deadlock: both unlock, main prints "no deadlock", exit 0.
 * Usage: lock_order.wasm [ROUNDS=1]  (each thread repeats its lock sequence ROUNDS
 * times; a large ROUNDS makes the deadlock likely even on real threads). */
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static volatile int work;
static int rounds = 1;

WASMCONC_NOINLINE void lock_order_between(int who) { work += who; }

static void *thread_ab(void *arg) {
    (void)arg;
    for (int i = 0; i < rounds; i++) {
        pthread_mutex_lock(&lock_a);
        lock_order_between(1);
        pthread_mutex_lock(&lock_b);
        pthread_mutex_unlock(&lock_b);
        pthread_mutex_unlock(&lock_a);
    }
    return 0;
}

static void *thread_ba(void *arg) {
    (void)arg;
    for (int i = 0; i < rounds; i++) {
        pthread_mutex_lock(&lock_b);
        lock_order_between(2);
        pthread_mutex_lock(&lock_a);
        pthread_mutex_unlock(&lock_a);
        pthread_mutex_unlock(&lock_b);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1) rounds = atoi(argv[1]);
    pthread_t t1, t2;
    if (pthread_create(&t1, 0, thread_ab, 0) || pthread_create(&t2, 0, thread_ba, 0)) {
        fputs("lock_order: pthread_create failed\n", stderr);
        return 2;
    }
    pthread_join(t1, 0);
    pthread_join(t2, 0);
    printf("no deadlock\n");
    return 0;
}
