/* lost_update_pair_fixed: lost_update_pair.c with the increment made atomic.
 *
 * Same program as lost_update_pair.c (two threads count the primes among 2..N+1 into one
 * shared counter, N = argv[1], default 200); the one change: `primes` is a C11
 * `atomic_int` and the increment is `atomic_fetch_add(&primes, 1)` (line 30), one atomic
 * read-modify-write, so no update can be lost.
 * Result: stdout "primes=P expected=E" with P == E; exit 0 (1 would mean a lost update),
 * 2 on bad arguments. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

struct scan { int first, found, *list; };

atomic_int primes;
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
        atomic_fetch_add(&primes, 1); /* FIXED(A): one atomic read-modify-write */
    }
    return NULL;
}

int main(int argc, char **argv) {
    int numbers = argc > 1 ? atoi(argv[1]) : 200;
    if (numbers < 1 || numbers > 10000000) {
        fputs("usage: lost_update_pair_fixed [N=200 (1..10000000)]\n", stderr);
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
    int counted = atomic_load(&primes);
    printf("primes=%d expected=%d\n", counted, expected);
    return counted != expected;
}
