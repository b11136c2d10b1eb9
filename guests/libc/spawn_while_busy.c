/* spawn_while_busy: B busy threads (argv[2], default 3) compute without a break until told
 * to stop; meanwhile a spawner thread creates M children (argv[1], default 16), each
 * summing its share of 1..M*100 into one atomic total, joins them and only then tells the
 * busy threads to stop. New threads are created while the others are running.
 * stdout: "children=M sum=S" with S = (M*100)(M*100+1)/2; exit 0 iff S is right,
 * 2 on bad arguments or a failed pthread_create. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SHARE 100

static atomic_int stop;
static atomic_llong total;
static int children = 16;
static int spawn_failed;

static void *busy(void *arg) {
    uint32_t x = (uint32_t)(uintptr_t)arg;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) x = x * 1664525u + 1013904223u;
    return (void *)(uintptr_t)x;
}

static void *child(void *arg) {
    long long first = (long long)(uintptr_t)arg * SHARE + 1, sum = 0;
    for (long long v = first; v < first + SHARE; v++) sum += v;
    atomic_fetch_add(&total, sum);
    return NULL;
}

static void *spawner(void *arg) {
    pthread_t *kids = calloc((size_t)children, sizeof *kids);
    int made = 0;
    for (; made < children; made++) {
        if (pthread_create(&kids[made], NULL, child, (void *)(uintptr_t)made) != 0) {
            spawn_failed = 1;
            break;
        }
    }
    for (int i = 0; i < made; i++) pthread_join(kids[i], NULL);
    atomic_store(&stop, 1);
    free(kids);
    return arg;
}

int main(int argc, char **argv) {
    if (argc > 1) children = atoi(argv[1]);
    int nbusy = argc > 2 ? atoi(argv[2]) : 3;
    if (children < 1 || children > 1000 || nbusy < 0 || nbusy > 64) {
        fputs("usage: spawn_while_busy [M=16 (1..1000)] [B=3 (0..64)]\n", stderr);
        return 2;
    }
    pthread_t busy_threads[64], spawn_thread;
    for (int i = 0; i < nbusy; i++) {
        if (pthread_create(&busy_threads[i], NULL, busy, (void *)(uintptr_t)(i + 1)) != 0) {
            fputs("pthread_create failed (busy thread)\n", stderr);
            return 2;
        }
    }
    if (pthread_create(&spawn_thread, NULL, spawner, NULL) != 0) {
        fputs("pthread_create failed (spawner)\n", stderr);
        return 2;
    }
    pthread_join(spawn_thread, NULL);
    for (int i = 0; i < nbusy; i++) pthread_join(busy_threads[i], NULL);
    if (spawn_failed) {
        fputs("pthread_create failed (child)\n", stderr);
        return 2;
    }
    long long n = (long long)children * SHARE, sum = atomic_load(&total);
    printf("children=%d sum=%lld\n", children, sum);
    return sum == n * (n + 1) / 2 ? 0 : 1;
}
