/* spin_barrier: N threads meet at a hand-made spin barrier (an atomic counter each adds 1 to,
 * then spins until it reads N), then main joins them: a user-space barrier as thread pools and
 * benchmarks write them, with no futex, so the scheduler sees only spinning threads until the
 * last one arrives. MODE 1 spins with sched_yield() in the loop, 0 on the atomic load alone.
 * stdout: "threads=N arrived=N\n"; exit 0 iff every thread arrived,
 * 2 on bad arguments or a failed pthread_create. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_int arrived;
static int nthreads = 100;
static int yield_in_loop = 1;

static void *meet(void *arg) {
    (void)arg;
    atomic_fetch_add(&arrived, 1);
    while (atomic_load(&arrived) < nthreads) {
        if (yield_in_loop)
            sched_yield();
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1) nthreads = atoi(argv[1]);
    if (argc > 2) yield_in_loop = atoi(argv[2]);
    if (nthreads < 1 || nthreads > 10000 || yield_in_loop < 0 || yield_in_loop > 1) {
        fputs("usage: spin_barrier [N=100 (1..10000)] [MODE=1 (0|1)]\n", stderr);
        return 2;
    }
    pthread_t *threads = malloc(sizeof(pthread_t) * (size_t)nthreads);
    if (!threads) return 2;
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&threads[i], 0, meet, 0)) {
            fprintf(stderr, "spin_barrier: pthread_create failed at thread %d\n", i);
            return 2;
        }
    }
    for (int i = 0; i < nthreads; i++) pthread_join(threads[i], 0);
    int n = atomic_load(&arrived);
    printf("threads=%d arrived=%d\n", nthreads, n);
    return n == nthreads ? 0 : 1;
}
