/* atomic_pair: a correct 2-thread guest for the bounded search (issue 18).
 *
 * Main and one thread each add to a shared counter with an atomic read-modify-write (main
 * 1, the thread 2) and then set their own plain flag; main joins and checks the counter
 * is 3 and both flags are set. Every interleaving gives the same result, so
 * `wasmconc explore --policy dfs --preemption-bound 2` explores them all without a failure.
 * Result: exit 0 with "counter=3", 1 when the counter or a flag is wrong. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

atomic_int counter;
volatile int main_done, other_done;

static void *other(void *arg) {
    (void)arg;
    atomic_fetch_add(&counter, 2);
    other_done = 1;
    return NULL;
}

int main(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, other, NULL) != 0)
        return 3;
    atomic_fetch_add(&counter, 1);
    main_done = 1;
    pthread_join(t, NULL);
    int c = atomic_load(&counter);
    printf("counter=%d\n", c);
    return c == 3 && main_done && other_done ? 0 : 1;
}
