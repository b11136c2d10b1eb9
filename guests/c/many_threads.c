/* many_threads: N threads (argv[1], default 4, 1..1000) all alive at once, then K
 * locked increments each (argv[2], default 0); for benchmarks/scale.py.
 *   - every thread first waits on a barrier (mutex + condition variable) until all N
 *     have started: with K = 0 the execution's peak memory is N live, parked threads;
 *   - then each does K increments of a shared counter under one mutex: with N = 4 and
 *     a large K, an execution with a long run of contended scheduling decisions.
 * main joins all, prints "threads=N counter=C"; exit 0 iff C == N*K. */
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>

#define MAX_THREADS 1000

static int nthreads = 4, increments = 0;
static volatile int counter;
static int arrived;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_arrived = PTHREAD_COND_INITIALIZER;
static pthread_t threads[MAX_THREADS];

WASMCONC_NOINLINE static void barrier_wait(void) {
    pthread_mutex_lock(&lock);
    if (++arrived == nthreads)
        pthread_cond_broadcast(&all_arrived);
    while (arrived < nthreads)
        pthread_cond_wait(&all_arrived, &lock);
    pthread_mutex_unlock(&lock);
}

static void *worker(void *arg) {
    (void)arg;
    barrier_wait();
    for (int i = 0; i < increments; i++) {
        pthread_mutex_lock(&lock);
        counter = counter + 1;
        pthread_mutex_unlock(&lock);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1) nthreads = atoi(argv[1]);
    if (argc > 2) increments = atoi(argv[2]);
    if (nthreads < 1 || nthreads > MAX_THREADS || increments < 0) {
        fputs("usage: many_threads [N 1..1000] [K >= 0]\n", stderr);
        return 2;
    }
    for (int t = 0; t < nthreads; t++)
        if (pthread_create(&threads[t], 0, worker, 0)) {
            fprintf(stderr, "many_threads: pthread_create failed at thread %d\n", t);
            return 2;
        }
    for (int t = 0; t < nthreads; t++)
        pthread_join(threads[t], 0);
    printf("threads=%d counter=%d\n", nthreads, counter);
    return counter == nthreads * increments ? 0 : 1;
}
