/* abba_deadlock: the classic lock-order deadlock with real pthread mutexes. Two threads
 * each run ROUNDS rounds (argv[2], default 20) of: lock one mutex, do a little work
 * (update_accounts), lock the other, move one unit between two balances, unlock both.
 *   abba (default): thread 1 locks A then B, thread 2 locks B then A: the order is
 *                   inverted, and when each holds its first mutex they deadlock;
 *   ordered:        both lock A then B: never deadlocks.
 * stdout: "no deadlock after ROUNDS rounds, total=100"; exit 0 when it finishes
 * (1 if the balances do not add up, 2 on bad arguments); a deadlock never ends. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static int rounds = 20;
static volatile long balance_a = 60, balance_b = 40, work;

__attribute__((noinline)) static void update_accounts(void) {
    for (int i = 0; i < 50; i++) work += i; /* time spent holding the first lock */
}

static void *a_then_b(void *arg) {
    for (int i = 0; i < rounds; i++) {
        pthread_mutex_lock(&a);
        update_accounts();
        pthread_mutex_lock(&b);
        balance_a--, balance_b++;
        pthread_mutex_unlock(&b);
        pthread_mutex_unlock(&a);
    }
    return arg;
}

static void *b_then_a(void *arg) {
    for (int i = 0; i < rounds; i++) {
        pthread_mutex_lock(&b);
        update_accounts();
        pthread_mutex_lock(&a);
        balance_b--, balance_a++;
        pthread_mutex_unlock(&a);
        pthread_mutex_unlock(&b);
    }
    return arg;
}

static void *a_then_b_reverse_transfer(void *arg) {
    for (int i = 0; i < rounds; i++) {
        pthread_mutex_lock(&a);
        update_accounts();
        pthread_mutex_lock(&b);
        balance_b--, balance_a++;
        pthread_mutex_unlock(&b);
        pthread_mutex_unlock(&a);
    }
    return arg;
}

int main(int argc, char **argv) {
    const char *order = argc > 1 ? argv[1] : "abba";
    if (argc > 2) rounds = atoi(argv[2]);
    int abba = strcmp(order, "abba") == 0;
    if ((!abba && strcmp(order, "ordered") != 0) || rounds < 0) {
        fputs("usage: abba_deadlock [abba|ordered] [ROUNDS=20]\n", stderr);
        return 2;
    }
    pthread_t t1, t2;
    if (pthread_create(&t1, NULL, a_then_b, NULL) != 0 ||
        pthread_create(&t2, NULL, abba ? b_then_a : a_then_b_reverse_transfer, NULL) != 0) {
        fputs("pthread_create failed\n", stderr);
        return 2;
    }
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    printf("no deadlock after %d rounds, total=%ld\n", rounds, balance_a + balance_b);
    return balance_a + balance_b == 100 && balance_a == 60 ? 0 : 1;
}
