/* order_publish: order violation, a pointer published before the struct is initialised.
 *
 * Bug: a reloader thread takes a fresh (zeroed) configuration from a preallocated table
 * and publishes it through the plain global pointer `current` (line 33) BEFORE it fills
 * in its fields (line 34 and the next); reader threads take `current` and use its fields
 * (lines 44-45). A reader that loads the new pointer between the reloader's lines 33
 * and 34 reads a configuration that is not initialised yet (a zero `limit`, a NULL
 * `name`). No call or loop sits between the publishing store and the field stores, nor
 * between the reader's loads. (The table comes through a global pointer, as a pool's
 * would: the compiler cannot tell `current` from a field in it, so it keeps the stores
 * in source order; with a fresh calloc() per reload it may legally move them.)
 * Arguments: [READERS=8 (1..99)] [RELOADS=10 (1..100000)].
 * Result: stdout "reloads=R readers=N uninitialised=U"; exit 1 exactly when a reader saw
 * an uninitialised configuration (U > 0), 0 otherwise, 2 on bad arguments.
 * Fixed twin (order_publish_fixed.c): the fields are written first and the pointer is
 * published last with a C11 release store; readers load it with acquire. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

struct config { const char *name; int limit; };

struct config *current; /* the published configuration, shared and plain: the bug */
struct config *slots; /* every configuration ever made, zeroed (calloc) by main */
int reloads;

static const char *const names[] = {"small", "medium", "large"};

static void *reloader(void *arg) {
    for (int r = 1; r <= reloads; r++) {
        struct config *fresh = &slots[r];
        current = fresh;        /* RACE(A): published ... */
        fresh->limit = 100 * r; /* RACE(B): ... before it is initialised */
        fresh->name = names[r % 3];
        sched_yield();
    }
    return arg;
}

static void *reader(void *arg) {
    int *uninitialised = arg;
    for (int i = 0; i < reloads; i++) {
        struct config *c = current;                          /* RACE(C): the new pointer ... */
        if (c != NULL && (c->name == NULL || c->limit == 0)) /* RACE(D): ... and its fields */
            (*uninitialised)++;
        sched_yield();
    }
    return arg;
}

int main(int argc, char **argv) {
    int readers = argc > 1 ? atoi(argv[1]) : 8;
    reloads = argc > 2 ? atoi(argv[2]) : 10;
    if (readers < 1 || readers > 99 || reloads < 1 || reloads > 100000) {
        fputs("usage: order_publish [READERS=8 (1..99)] [RELOADS=10 (1..100000)]\n", stderr);
        return 2;
    }
    slots = calloc((size_t)reloads + 1, sizeof *slots); /* never freed: readers may hold any */
    if (slots == NULL) return 2;
    pthread_t t[100];
    int seen[100] = {0};
    if (pthread_create(&t[0], NULL, reloader, NULL) != 0) return 2;
    for (int i = 1; i <= readers; i++)
        if (pthread_create(&t[i], NULL, reader, &seen[i]) != 0) return 2;
    int uninitialised = 0;
    for (int i = 0; i <= readers; i++) {
        pthread_join(t[i], NULL);
        uninitialised += seen[i];
    }
    printf("reloads=%d readers=%d uninitialised=%d\n", reloads, readers, uninitialised);
    return uninitialised > 0;
}
