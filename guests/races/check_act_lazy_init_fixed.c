/* check_act_lazy_init_fixed: check_act_lazy_init.c with the initialisation in pthread_once.
 *
 * Same program as check_act_lazy_init.c (every thread's first lookup needs the shared
 * table initialised); the change: the plain `initialised` flag, its check and its store
 * are replaced by `pthread_once(&table_once, init_table)` (line 32), which runs
 * init_table exactly once and makes every other caller wait until it has finished.
 * (pthread_once passes no argument, so the initialising thread is found through a
 * thread-local pointer to its record.)
 * Arguments: [THREADS=8 (1..99)].
 * Result: stdout "threads=N init_runs=1", exit 0 (1 would mean a second initialisation),
 * 2 on bad arguments. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct table { int size, mask, owner; };
struct client { int key, answer, did_init; };

struct table table;
pthread_once_t table_once = PTHREAD_ONCE_INIT;
static _Thread_local struct client *me;

static void init_table(void) {
    table.size = 64;
    table.mask = 63;
    table.owner = me->key;
    me->did_init = 1;
}

static int lookup(struct client *c) {
    me = c;
    pthread_once(&table_once, init_table); /* FIXED(A) */
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
        fputs("usage: check_act_lazy_init_fixed [THREADS=8 (1..99)]\n", stderr);
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
