/* check_act_claim_fixed: check_act_claim.c with an atomic test-and-set claim.
 *
 * Same program as check_act_claim.c (a pool of workers walks a shared list of work items
 * and takes every unclaimed one); the change: `claimed` is a C11 `atomic_int` and a
 * worker claims an item with `atomic_exchange(&it->claimed, 1) == 0` (line 29), one
 * atomic test-and-set, so exactly one worker wins each item.
 * Arguments: [WORKERS=4 (1..64)] [ITEMS=64 (1..100000)].
 * Result: stdout "items=I workers=W ran_twice=0", exit 0 (1 would mean an item was taken
 * twice), 2 on bad arguments. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

struct item {
    atomic_int claimed;
    int result;
};
struct worker { int id, taken; };

struct item *items;
int nitems, nworkers;

static void *worker(void *arg) {
    struct worker *me = arg;
    int start = (int)((long)me->id * nitems / nworkers);
    for (int k = 0; k < nitems; k++) {
        struct item *it = &items[(start + k) % nitems];
        if (atomic_exchange(&it->claimed, 1) == 0) { /* FIXED(A): test-and-set */
            it->result = (start + k) % nitems * 31 % 1009;
            me->taken++;
        }
    }
    return arg;
}

int main(int argc, char **argv) {
    nworkers = argc > 1 ? atoi(argv[1]) : 4;
    nitems = argc > 2 ? atoi(argv[2]) : 64;
    if (nworkers < 1 || nworkers > 64 || nitems < 1 || nitems > 100000) {
        fputs("usage: check_act_claim_fixed [WORKERS=4 (1..64)] [ITEMS=64 (1..100000)]\n", stderr);
        return 2;
    }
    items = calloc((size_t)nitems, sizeof *items);
    if (items == NULL) return 2;
    pthread_t t[64];
    struct worker w[64];
    for (int i = 0; i < nworkers; i++) {
        w[i] = (struct worker){.id = i, .taken = 0};
        if (pthread_create(&t[i], NULL, worker, &w[i]) != 0) return 2;
    }
    int taken = 0;
    for (int i = 0; i < nworkers; i++) {
        pthread_join(t[i], NULL);
        taken += w[i].taken;
    }
    int twice = taken - nitems; /* every item is taken at least once: each worker walks all */
    printf("items=%d workers=%d ran_twice=%d\n", nitems, nworkers, twice);
    return twice > 0;
}
