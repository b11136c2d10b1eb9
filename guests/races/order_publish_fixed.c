/* order_publish_fixed: order_publish.c with initialise-then-publish and release/acquire.
 *
 * Same program as order_publish.c (a reloader publishes new configurations, readers use
 * the current one); the changes: the reloader fills in the fields first (line 28 and the
 * next) and publishes the pointer last (line 30) with `atomic_store_explicit(...,
 * memory_order_release)`; readers load it with `memory_order_acquire` (line 39), so a
 * reader that sees the new pointer also sees its fields.
 * Arguments: [READERS=8 (1..99)] [RELOADS=10 (1..100000)].
 * Result: stdout "reloads=R readers=N uninitialised=0", exit 0 (1 would mean a reader saw
 * an uninitialised configuration), 2 on bad arguments. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

struct config { const char *name; int limit; };

_Atomic(struct config *) current;
struct config *slots; /* every configuration ever made, zeroed (calloc) by main */
int reloads;

static const char *const names[] = {"small", "medium", "large"};

static void *reloader(void *arg) {
    for (int r = 1; r <= reloads; r++) {
        struct config *fresh = &slots[r];
        fresh->limit = 100 * r; /* FIXED(B): initialised first ... */
        fresh->name = names[r % 3];
        atomic_store_explicit(&current, fresh, memory_order_release); /* FIXED(A): ... published last */
        sched_yield();
    }
    return arg;
}

static void *reader(void *arg) {
    int *uninitialised = arg;
    for (int i = 0; i < reloads; i++) {
        struct config *c = atomic_load_explicit(&current, memory_order_acquire); /* FIXED(C) */
        if (c != NULL && (c->name == NULL || c->limit == 0))
            (*uninitialised)++;
        sched_yield();
    }
    return arg;
}

int main(int argc, char **argv) {
    int readers = argc > 1 ? atoi(argv[1]) : 8;
    reloads = argc > 2 ? atoi(argv[2]) : 10;
    if (readers < 1 || readers > 99 || reloads < 1 || reloads > 100000) {
        fputs("usage: order_publish_fixed [READERS=8 (1..99)] [RELOADS=10 (1..100000)]\n", stderr);
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
