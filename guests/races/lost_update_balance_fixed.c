/* lost_update_balance_fixed: lost_update_balance.c with the account under a mutex.
 *
 * Same program as lost_update_balance.c (cash machines pay out from one `balance`); the
 * change: the check and the subtraction (line 28) run under one mutex, `account_lock`,
 * so no payout's update can be overwritten.
 * Arguments: [ATMS=4 (1..64)] [REQUESTS=25 (1..100000)].
 * Result: stdout "balance=B expected=E" with B == E, exit 0 (1 would mean a lost payout),
 * 2 on bad arguments. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define OPENING 1000000

struct atm { int id, *journal; }; /* journal[i]: what request i paid out (0: declined) */

pthread_mutex_t account_lock = PTHREAD_MUTEX_INITIALIZER;
int balance = OPENING; /* guarded by account_lock */
int requests;

static void *cash_machine(void *arg) {
    struct atm *m = arg;
    for (int i = 0; i < requests; i++) {
        int amount = 20 + 10 * ((m->id + i) % 5);
        m->journal[i] = amount; /* logged before it is served, as a journal must be */
        pthread_mutex_lock(&account_lock);
        if (balance >= amount)
            balance -= amount;  /* FIXED(A): check and update under account_lock */
        else
            m->journal[i] = 0;  /* declined */
        pthread_mutex_unlock(&account_lock);
    }
    return arg;
}

int main(int argc, char **argv) {
    int atms = argc > 1 ? atoi(argv[1]) : 4;
    requests = argc > 2 ? atoi(argv[2]) : 25;
    if (atms < 1 || atms > 64 || requests < 1 || requests > 100000) {
        fputs("usage: lost_update_balance_fixed [ATMS=4 (1..64)] [REQUESTS=25 (1..100000)]\n", stderr);
        return 2;
    }
    pthread_t t[64];
    struct atm m[64];
    for (int i = 0; i < atms; i++) {
        m[i] = (struct atm){.id = i, .journal = calloc((size_t)requests, sizeof(int))};
        if (m[i].journal == NULL || pthread_create(&t[i], NULL, cash_machine, &m[i]) != 0) return 2;
    }
    int expected = OPENING;
    for (int i = 0; i < atms; i++) {
        pthread_join(t[i], NULL);
        for (int k = 0; k < requests; k++) expected -= m[i].journal[k];
    }
    printf("balance=%d expected=%d\n", balance, expected);
    return balance != expected;
}
