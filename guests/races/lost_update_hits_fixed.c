/* lost_update_hits_fixed: lost_update_hits.c with an atomic hit counter.
 *
 * Same program as lost_update_hits.c (100 connection threads count their replies in one
 * shared counter); the change: `replies` is a C11 `atomic_int` and the increment is
 * `atomic_fetch_add(&replies, 1)` (line 22), one atomic read-modify-write.
 * Arguments: [THREADS=100 (1..1000)] [K=2 (1..100000)].
 * Result: stdout "threads=N replies=N*K expected=N*K", exit 0 (1 would mean an uncounted
 * reply), 2 on bad arguments. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

atomic_int replies;
int per_connection;

static void *connection(void *arg) {
    long id = (long)arg;
    char reply[64];
    for (int k = 0; k < per_connection; k++) {
        snprintf(reply, sizeof reply, "HTTP/1.1 200 OK (connection %ld, reply %d)", id, k);
        atomic_fetch_add(&replies, 1); /* FIXED(A) */
    }
    return arg;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 100;
    per_connection = argc > 2 ? atoi(argv[2]) : 2;
    if (threads < 1 || threads > 1000 || per_connection < 1 || per_connection > 100000) {
        fputs("usage: lost_update_hits_fixed [THREADS=100 (1..1000)] [K=2 (1..100000)]\n", stderr);
        return 2;
    }
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    if (t == NULL) return 2;
    for (long i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, connection, (void *)i) != 0) return 2;
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    int expected = threads * per_connection, counted = atomic_load(&replies);
    printf("threads=%d replies=%d expected=%d\n", threads, counted, expected);
    return counted != expected;
}
