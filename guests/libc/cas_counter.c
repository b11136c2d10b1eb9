/* cas_counter: N threads (argv[1], default 20) each add 1 to one C11 _Atomic counter K
 * times (argv[2], default 500) with a compare-and-swap retry loop, no lock at all.
 * The number of failed CAS attempts (contention) goes to stderr: it varies per run.
 * stdout: "threads=N counter=C"; exit 0 iff C == N*K, 2 on bad arguments. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static _Atomic long counter;
static atomic_long retries;
static int rounds = 500;

static void *cas_increments(void *arg) {
    for (int i = 0; i < rounds; i++) {
        long seen = atomic_load_explicit(&counter, memory_order_relaxed);
        /* on failure `seen` is reloaded with the current value: retry with it */
        while (!atomic_compare_exchange_weak_explicit(&counter, &seen, seen + 1, memory_order_acq_rel,
                                                      memory_order_relaxed))
            atomic_fetch_add_explicit(&retries, 1, memory_order_relaxed);
    }
    return arg;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 20;
    if (argc > 2) rounds = atoi(argv[2]);
    if (n < 1 || n > 1000 || rounds < 0) {
        fputs("usage: cas_counter [N=20 (1..1000)] [K=500]\n", stderr);
        return 2;
    }
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    for (int i = 0; i < n; i++) {
        if (pthread_create(&threads[i], NULL, cas_increments, NULL) != 0) {
            fprintf(stderr, "pthread_create failed at thread %d\n", i);
            return 2;
        }
    }
    for (int i = 0; i < n; i++) pthread_join(threads[i], NULL);
    long total = atomic_load(&counter);
    fprintf(stderr, "failed CAS attempts: %ld\n", atomic_load(&retries));
    printf("threads=%d counter=%ld\n", n, total);
    return total == (long)n * rounds ? 0 : 1;
}
