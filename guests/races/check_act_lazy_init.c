/* check_act_lazy_init: check-then-act on a plain flag, a lazy initialisation run twice.
 *
 * Bug: every thread's first lookup initialises a shared table on demand: `if
 * (!initialised) { init_table(c); initialised = 1; }` (lines 34-36) on a plain int.
 * init_table() is small and inlined: between the load of the flag and the store of 1
 * there is no call and no loop. A thread that loads the flag after another thread
 * loaded it but before that thread stored 1 initialises the table a second time (and
 * takes it over from the first: `table.owner` changes under its feet).
 * Arguments: [THREADS=8 (1..99)].
 * Result: stdout "threads=N init_runs=I"; exit 1 exactly when the table was initialised
 * more than once (I > 1), 0 otherwise, 2 on bad arguments.
 * Fixed twin (check_act_lazy_init_fixed.c): the initialisation runs through
 * `pthread_once`. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct table { int size, mask, owner; };
struct client { int key, answer, did_init; };

struct table table;
int initialised; /* shared and plain: the bug */

static void init_table(struct client *by) {
    table.size = 64;
    table.mask = 63;
    table.owner = by->key;
    /* Each thread records its own initialisations: a shared counter would be one more
     * plain read-modify-write, and two racing initialisations could lose a count. */
    by->did_init = 1;
}

static int lookup(struct client *c) {
    if (!initialised) {   /* RACE(A): check ... */
        init_table(c);
        initialised = 1;  /* RACE(B): ... then act */
    }
    return (c->key & table.mask) + 100 * table.owner;
}

static void *client(void *arg) {
    struct client *c = arg;
    c->answer = lookup(c);
    return arg;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 8;
    if (threads < 1 || threads > 99) {
        fputs("usage: check_act_lazy_init [THREADS=8 (1..99)]\n", stderr);
        return 2;
    }
    pthread_t t[99];
    struct client clients[99];
    for (int i = 0; i < threads; i++) {
        clients[i] = (struct client){.key = 7 * i + 1, .answer = 0, .did_init = 0};
        if (pthread_create(&t[i], NULL, client, &clients[i]) != 0) return 2;
    }
    int init_runs = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        init_runs += clients[i].did_init;
    }
    printf("threads=%d init_runs=%d\n", threads, init_runs);
    return init_runs != 1;
}
