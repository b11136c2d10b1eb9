/* philosophers: N dining philosophers (threads) around N forks (mutexes), each eats
 * ROUNDS times.  Usage: philosophers.wasm [plain|gate|ordered] [N=5 (2..16)] [ROUNDS=1]
 *   plain    each takes its left fork, then its right one: a lock-order cycle
 *            fork0 -> fork1 -> ... -> fork(N-1) -> fork0 (deadlocks in some schedules)
 *   gate     the same, but both forks are picked up while holding one gate lock, which
 *            is released before eating: no deadlock, and every edge of the cycle is
 *            taken under the gate (a gate-locked cycle)
 *   ordered  each takes the lower-numbered of its two forks first: no cycle at all
 * Prints "ate R times each" and exits 0 when nobody deadlocked (2 on bad arguments). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#define MAX_N 16

static pthread_mutex_t forks[MAX_N];
static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static int n = 5, rounds = 1, mode;  /* 0 plain, 1 gate, 2 ordered */
static volatile int meals[MAX_N];

WASMCONC_NOINLINE void philosophers_eat(int who) { meals[who]++; }

WASMCONC_NOINLINE void pick_up(int who, int first, int second) {
    (void)who;
    pthread_mutex_lock(&forks[first]);
    pthread_mutex_lock(&forks[second]);
}

static void *philosopher(void *arg) {
    int who = (int)(long)arg;
    int left = who, right = (who + 1) % n;
    for (int r = 0; r < rounds; r++) {
        if (mode == 1) {
            pthread_mutex_lock(&gate);
            pick_up(who, left, right);
            pthread_mutex_unlock(&gate);
        } else if (mode == 2) {
            pick_up(who, left < right ? left : right, left < right ? right : left);
        } else {
            pick_up(who, left, right);
        }
        philosophers_eat(who);
        pthread_mutex_unlock(&forks[right]);
        pthread_mutex_unlock(&forks[left]);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1) {
        if (!strcmp(argv[1], "plain")) mode = 0;
        else if (!strcmp(argv[1], "gate")) mode = 1;
        else if (!strcmp(argv[1], "ordered")) mode = 2;
        else { fputs("philosophers: mode must be plain, gate or ordered\n", stderr); return 2; }
    }
    if (argc > 2) n = atoi(argv[2]);
    if (argc > 3) rounds = atoi(argv[3]);
    if (n < 2 || n > MAX_N || rounds < 1) { fputs("philosophers: bad N or ROUNDS\n", stderr); return 2; }
    pthread_t t[MAX_N];
    for (int i = 0; i < n; i++) pthread_mutex_init(&forks[i], 0);
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], 0, philosopher, (void *)(long)i)) {
            fputs("philosophers: pthread_create failed\n", stderr);
            return 2;
        }
    for (int i = 0; i < n; i++) pthread_join(t[i], 0);
    for (int i = 0; i < n; i++)
        if (meals[i] != rounds) { printf("philosopher %d ate %d times\n", i, meals[i]); return 1; }
    printf("ate %d times each\n", rounds);
    return 0;
}
