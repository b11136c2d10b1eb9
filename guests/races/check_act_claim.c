/* check_act_claim: check-then-act on a plain "claimed" flag, one work item taken twice.
 *
 * Bug: a pool of workers shares a list of work items. Each worker walks the whole list
 * (starting at its own offset, so the walks meet) and takes every item nobody has
 * claimed yet: `if (!it->claimed) { it->claimed = 1; ... }` (lines 33-34) on a plain int
 * field. Between the load of the flag and the store of 1 there is no call and no loop;
 * a worker that loads the flag after another worker loaded it but before that worker
 * stored 1 claims the same item, and the item's work runs twice.
 * Arguments: [WORKERS=4 (1..64)] [ITEMS=64 (1..100000)].
 * Result: stdout "items=I workers=W ran_twice=D"; exit 1 exactly when some item was taken
 * more than once (D > 0: the workers took I + D items in all), 0 otherwise, 2 on bad
 * arguments.
 * Fixed twin (check_act_claim_fixed.c): `claimed` is a C11 `atomic_int` and a worker
 * claims with `atomic_exchange(&it->claimed, 1) == 0`, one atomic test-and-set. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct item {
    int claimed; /* shared and plain: the bug */
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
        if (!it->claimed) {   /* RACE(A): check ... */
            it->claimed = 1;  /* RACE(B): ... then act */
            it->result = (start + k) % nitems * 31 % 1009;
            me->taken++; /* each worker counts its own: no count can be lost */
        }
    }
    return arg;
}

int main(int argc, char **argv) {
    nworkers = argc > 1 ? atoi(argv[1]) : 4;
    nitems = argc > 2 ? atoi(argv[2]) : 64;
    if (nworkers < 1 || nworkers > 64 || nitems < 1 || nitems > 100000) {
        fputs("usage: check_act_claim [WORKERS=4 (1..64)] [ITEMS=64 (1..100000)]\n", stderr);
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
