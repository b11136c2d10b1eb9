/* order_flags_fixed: order_flags.c with the pair guarded by one mutex.
 *
 * Same program as order_flags.c (a setter moves the pair (a, b) between (0, 0) and
 * (1, -1), checkers assert they only ever see one of the two); the change: the mutex
 * `state_lock` is held around each pair of stores (lines 23-24 and 28-29) and around
 * the checker's two loads (line 39), so a checker always sees a pair whole.
 * Arguments: [SETTERS=1 (1..50)] [CHECKERS=2 (1..50)] [ROUNDS=10 (1..1000000)].
 * Result: stdout "rounds=R checks=C", exit 0 (a failed check would abort), 2 on bad
 * arguments. */
#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

int a, b;
int rounds;
pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;

static void *setter(void *arg) {
    for (int r = 0; r < rounds; r++) {
        pthread_mutex_lock(&state_lock);
        a = 1;  /* FIXED(A) */
        b = -1; /* FIXED(B) */
        pthread_mutex_unlock(&state_lock);
        sched_yield();
        pthread_mutex_lock(&state_lock);
        a = 0;  /* FIXED(C) */
        b = 0;  /* FIXED(D) */
        pthread_mutex_unlock(&state_lock);
        sched_yield();
    }
    return arg;
}

static void *checker(void *arg) {
    for (int r = 0; r < rounds; r++) {
        pthread_mutex_lock(&state_lock);
        int seen_a = a, seen_b = b; /* FIXED(E): both loads under the lock */
        pthread_mutex_unlock(&state_lock);
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
        fputs("usage: order_flags_fixed [SETTERS=1 (1..50)] [CHECKERS=2 (1..50)] [ROUNDS=10 (1..1000000)]\n",
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
