/* order_flags: order violation between two plain stores (the "reorder" shape of SCTBench).
 *
 * Bug: the pair (a, b) is meant to change as one: (0, 0) is idle, (1, -1) is set, nothing
 * else is valid. A setter thread moves it back and forth with two plain stores each way
 * (`a = 1; b = -1;` at lines 26-27, `a = 0; b = 0;` at lines 29-30), while checker threads
 * read both (line 38) and assert the invariant. Nothing orders a checker's two loads
 * against the setter's two stores: a checker that reads between the setter's stores
 * (line 26 done, line 27 not yet) sees (1, 0) and the assertion fails. No call or loop
 * sits between the two stores or between the two loads.
 * Arguments: [SETTERS=1 (1..50)] [CHECKERS=2 (1..50)] [ROUNDS=10 (1..1000000)].
 * Result: stdout "rounds=R checks=C" and exit 0 when every check held; when one fails,
 * the assertion aborts the program (a trap; wasmtime exits 134). 2 on bad arguments.
 * Fixed twin (order_flags_fixed.c): one mutex `state_lock` is held around each pair of
 * stores and around the checker's two loads, so a checker sees either pair whole. */
#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

int a, b; /* the pair, shared and plain: the bug */
int rounds;

static void *setter(void *arg) {
    for (int r = 0; r < rounds; r++) {
        a = 1;  /* RACE(A): first store of the pair */
        b = -1; /* RACE(B): second store, too late for a checker that read in between */
        sched_yield();
        a = 0;  /* RACE(C) */
        b = 0;  /* RACE(D) */
        sched_yield();
    }
    return arg;
}

static void *checker(void *arg) {
    for (int r = 0; r < rounds; r++) {
        int seen_a = a, seen_b = b; /* RACE(E): two plain loads of the pair */
        assert((seen_a == 0 && seen_b == 0) || (seen_a == 1 && seen_b == -1));
        sched_yield();
    }
    return arg;
}

int main(int argc, char **argv) {
    int setters = argc > 1 ? atoi(argv[1]) : 1;
    int checkers = argc > 2 ? atoi(argv[2]) : 2;
    rounds = argc > 3 ? atoi(argv[3]) : 10;
    if (setters < 1 || setters > 50 || checkers < 1 || checkers > 50 || rounds < 1 || rounds > 1000000) {
        fputs("usage: order_flags [SETTERS=1 (1..50)] [CHECKERS=2 (1..50)] [ROUNDS=10 (1..1000000)]\n",
              stderr);
        return 2;
    }
    pthread_t t[100];
    int n = 0;
    for (int i = 0; i < setters; i++, n++)
        if (pthread_create(&t[n], NULL, setter, NULL) != 0) return 2;
    for (int i = 0; i < checkers; i++, n++)
        if (pthread_create(&t[n], NULL, checker, NULL) != 0) return 2;
    for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
    printf("rounds=%d checks=%d\n", rounds, rounds * checkers);
    return 0;
}
