/* lost_update_hits: lost update in a plain hit counter bumped by 100 threads.
 *
 * Bug: a server runs one thread per connection (100 by default); each formats K replies
 * (argv[2], default 2) into its own buffer and counts every reply in the plain global
 * `replies` (`replies++`, line 26). The increment is a load, an add and a store with no
 * call or loop between the load and the store; when another thread's line 26 stores in
 * between, a reply goes uncounted. (`snprintf` before it is a call the compiler cannot
 * see through, so `replies` is loaded afresh for every reply.)
 * Arguments: [THREADS=100 (1..1000)] [K=2 (1..100000)].
 * Result: stdout "threads=N replies=R expected=N*K"; exit 1 exactly when a reply went
 * uncounted (R != N*K), 0 otherwise, 2 on bad arguments.
 * Fixed twin (lost_update_hits_fixed.c): `replies` is a C11 `atomic_int` and the
 * increment is `atomic_fetch_add(&replies, 1)`. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

int replies; /* shared and plain: the bug */
int per_connection;

static void *connection(void *arg) {
    long id = (long)arg;
    char reply[64];
    for (int k = 0; k < per_connection; k++) {
        snprintf(reply, sizeof reply, "HTTP/1.1 200 OK (connection %ld, reply %d)", id, k);
        replies++; /* RACE(A) */
    }
    return arg;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 100;
    per_connection = argc > 2 ? atoi(argv[2]) : 2;
    if (threads < 1 || threads > 1000 || per_connection < 1 || per_connection > 100000) {
        fputs("usage: lost_update_hits [THREADS=100 (1..1000)] [K=2 (1..100000)]\n", stderr);
        return 2;
    }
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    if (t == NULL) return 2;
    for (long i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, connection, (void *)i) != 0) return 2;
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    int expected = threads * per_connection;
    printf("threads=%d replies=%d expected=%d\n", threads, replies, expected);
    return replies != expected;
}
