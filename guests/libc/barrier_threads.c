/* barrier_threads: N threads (argv[1], default 1000) and main meet at one
 * pthread_barrier_t (count N+1), so all N threads are alive at once; then main joins them.
 * Each thread counts itself in before the barrier and checks after it that all N+1 had
 * arrived (nobody passes early); exactly one waiter gets PTHREAD_BARRIER_SERIAL_THREAD.
 * Thread stacks are 32 KiB (pthread_attr_setstacksize), as programs with many threads do.
 * stdout: "threads=N serial=1 early=0"; exit 0 iff serial == 1 and early == 0,
 * 2 on bad arguments or a failed pthread_create. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_barrier_t barrier;
static atomic_int arrived, serial, early;
static int nthreads = 1000;

static void meet(void) {
    atomic_fetch_add(&arrived, 1);
    if (pthread_barrier_wait(&barrier) == PTHREAD_BARRIER_SERIAL_THREAD) atomic_fetch_add(&serial, 1);
    if (atomic_load(&arrived) != nthreads + 1) atomic_fetch_add(&early, 1);
}

static void *member(void *arg) {
    meet();
    return arg;
}

int main(int argc, char **argv) {
    if (argc > 1) nthreads = atoi(argv[1]);
    if (nthreads < 1 || nthreads > 10000) {
        fputs("usage: barrier_threads [N=1000 (1..10000)]\n", stderr);
        return 2;
    }
    pthread_t *threads = calloc((size_t)nthreads, sizeof *threads);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 32 * 1024);
    pthread_barrier_init(&barrier, NULL, (unsigned)nthreads + 1);
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&threads[i], &attr, member, NULL) != 0) {
            fprintf(stderr, "pthread_create failed at thread %d\n", i);
            return 2;
        }
    }
    meet();
    for (int i = 0; i < nthreads; i++) pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&barrier);
    printf("threads=%d serial=%d early=%d\n", nthreads, atomic_load(&serial), atomic_load(&early));
    return atomic_load(&serial) == 1 && atomic_load(&early) == 0 ? 0 : 1;
}
