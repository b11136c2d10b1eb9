/* where: one report of each kind from code built with -g, so tests can check that every
 * position a report prints is the file's own offset and names its source line
 * (tests/runtime/test_report_positions.py). MODE (argv[1]):
 *   trap      a worker traps (__builtin_trap) two noinline calls deep (worker_body ->
 *             crash_here) while main is parked in pthread_join
 *   deadlock  thread ab locks A then B, thread ba B then A; each takes its second lock only
 *             after the other holds its first (an atomic handshake): a deadlock in every schedule
 *   order     the same two lock orders one after the other (ab joined before ba starts): no
 *             deadlock, but a lock-order inversion in every schedule
 *   race      two threads do `counter += 1` on a plain int (a data race in every schedule
 *             where both run)
 * stdout: "order ok" / "counter=N" for the modes that end; exit 0 (2 on bad arguments). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sched.h>
#include <string.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static atomic_int holding;  /* how many threads hold their first lock (deadlock mode) */
static int handshake;       /* deadlock mode: wait for the other thread's first lock */
static int counter;
static atomic_int both_created; /* race mode */

__attribute__((noinline)) static void crash_here(void) {
    __builtin_trap();
}

__attribute__((noinline)) static void *worker_body(void *arg) {
    crash_here();
    return arg;
}

__attribute__((noinline)) static void take_second(pthread_mutex_t *second) {
    if (handshake) {
        atomic_fetch_add(&holding, 1);
        while (atomic_load(&holding) < 2)
            sched_yield();
    }
    pthread_mutex_lock(second);
}

__attribute__((noinline)) static void *thread_ab(void *arg) {
    pthread_mutex_lock(&lock_a);
    take_second(&lock_b);
    pthread_mutex_unlock(&lock_b);
    pthread_mutex_unlock(&lock_a);
    return arg;
}

__attribute__((noinline)) static void *thread_ba(void *arg) {
    pthread_mutex_lock(&lock_b);
    take_second(&lock_a);
    pthread_mutex_unlock(&lock_a);
    pthread_mutex_unlock(&lock_b);
    return arg;
}

__attribute__((noinline)) static void *add_one(void *arg) {
    counter += 1;
    /* Wait until main has created both: a thread that exited first would order the two
     * updates through libc's thread-list lock (taken at exit and at create). */
    while (!atomic_load(&both_created))
        sched_yield();
    return arg;
}

static void two(void *(*a)(void *), void *(*b)(void *), int one_after_the_other) {
    pthread_t ta, tb;
    pthread_create(&ta, NULL, a, NULL);
    if (one_after_the_other)
        pthread_join(ta, NULL);
    pthread_create(&tb, NULL, b, NULL);
    atomic_store(&both_created, 1);
    if (!one_after_the_other)
        pthread_join(ta, NULL);
    pthread_join(tb, NULL);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "trap";
    if (!strcmp(mode, "trap")) {
        pthread_t t;
        pthread_create(&t, NULL, worker_body, &counter);
        pthread_join(t, NULL);
    } else if (!strcmp(mode, "deadlock")) {
        handshake = 1;
        two(thread_ab, thread_ba, 0);
    } else if (!strcmp(mode, "order")) {
        two(thread_ab, thread_ba, 1);
        printf("order ok\n");
    } else if (!strcmp(mode, "race")) {
        two(add_one, add_one, 0);
        printf("counter=%d\n", counter);
    } else {
        fprintf(stderr, "usage: where trap|deadlock|order|race\n");
        return 2;
    }
    return 0;
}
