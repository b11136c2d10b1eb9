/* lost_update_pair: lost update in `primes++` on a plain int, two threads.
 *
 * Bug: two threads each scan every other odd number of 3..N+1 (argv[1], default 200: one
 * from 3, one from 5, both find primes all along), keep the
 * primes they find in their own list and also count them in the shared plain global
 * `primes`. `primes++` (line 35, in count_primes) is a load, an add and a store with no
 * call or loop between them; when the other thread's line 35 stores between this
 * thread's load and store, one increment is lost. (`primes` has external linkage, so the
 * store through `s->list` just before it makes the compiler reload `primes` for every
 * prime: the window really is one increment wide.)
 * Result: stdout "primes=P expected=E"; exit 1 exactly when an update was lost (P != E,
 * E being the lengths of the two lists), 0 otherwise, 2 on bad arguments.
 * Fixed twin (lost_update_pair_fixed.c): `primes` is a C11 `atomic_int` and the increment
 * is `atomic_fetch_add(&primes, 1)`, one atomic read-modify-write. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct scan { int first, found, *list; };

int primes; /* shared and plain: the bug */
int limit;

static int is_prime(int n) {
    for (int d = 2; d * d <= n; d++)
        if (n % d == 0) return 0;
    return n >= 2;
}

static void *count_primes(void *arg) {
    struct scan *s = arg;
    for (int n = s->first; n < limit + 2; n += 4) {
        if (!is_prime(n)) continue;
        s->list[s->found++] = n;
        primes++; /* RACE(A): plain read-modify-write */
    }
    return NULL;
}

int main(int argc, char **argv) {
    int numbers = argc > 1 ? atoi(argv[1]) : 200;
    if (numbers < 1 || numbers > 10000000) {
        fputs("usage: lost_update_pair [N=200 (1..10000000)]\n", stderr);
        return 2;
    }
    limit = numbers;
    struct scan scans[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        scans[i] = (struct scan){.first = 3 + 2 * i, .found = 0, .list = calloc((size_t)numbers, sizeof(int))};
        if (scans[i].list == NULL || pthread_create(&t[i], NULL, count_primes, &scans[i]) != 0) return 2;
    }
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    int expected = scans[0].found + scans[1].found;
    printf("primes=%d expected=%d\n", primes, expected);
    return primes != expected;
}
