/* lost_update_balance: lost update in `balance -= amount` on a plain int, no lock at all.
 *
 * Bug: several cash machines (threads) pay out from one shared account; each checks the
 * plain global `balance` and subtracts the amount (line 31) without any lock. The check,
 * the subtraction and the store are a load, a compare, a subtract and a store with no
 * call or loop between the load and the store; when another machine's line 31 stores
 * in between, one payout is not deducted (the bank loses money).
 * Arguments: [ATMS=4 (1..64)] [REQUESTS=25 (1..100000)].
 * Result: stdout "balance=B expected=E"; exit 1 exactly when a payout was lost (B != E,
 * E = the opening balance minus everything the machines paid out), 0 otherwise, 2 on
 * bad arguments.
 * Fixed twin (lost_update_balance_fixed.c): the check and the subtraction run under one
 * mutex, `account_lock`. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define OPENING 1000000

struct atm { int id, *journal; }; /* journal[i]: what request i paid out (0: declined) */

int balance = OPENING; /* shared and plain: the bug */
int requests;

static void *cash_machine(void *arg) {
    struct atm *m = arg;
    for (int i = 0; i < requests; i++) {
        int amount = 20 + 10 * ((m->id + i) % 5);
        m->journal[i] = amount; /* logged before it is served, as a journal must be */
        if (balance >= amount)
            balance -= amount;  /* RACE(A): check, load, subtract, store, unguarded */
        else
            m->journal[i] = 0;  /* declined */
    }
    return arg;
}

int main(int argc, char **argv) {
    int atms = argc > 1 ? atoi(argv[1]) : 4;
    requests = argc > 2 ? atoi(argv[2]) : 25;
    if (atms < 1 || atms > 64 || requests < 1 || requests > 100000) {
        fputs("usage: lost_update_balance [ATMS=4 (1..64)] [REQUESTS=25 (1..100000)]\n", stderr);
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
