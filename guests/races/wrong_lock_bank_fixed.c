/* wrong_lock_bank_fixed: wrong_lock_bank.c with one mutex for the balance.
 *
 * Same program as wrong_lock_bank.c (depositors and withdrawers update one `balance`);
 * the change: deposit() (line 22) and withdraw() (line 29) both hold the same mutex,
 * `account_lock`, so every update of `balance` is ordered against every other.
 * Arguments: [PAIRS=2 (1..50): depositor/withdrawer pairs] [ROUNDS=10 (1..1000000)].
 * Result: stdout "balance=B expected=E" with B == E, exit 0 (1 would mean a lost update),
 * 2 on bad arguments. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define DEPOSIT 10
#define WITHDRAWAL 7 /* not DEPOSIT: one lost deposit and one lost withdrawal must not cancel out */

pthread_mutex_t account_lock = PTHREAD_MUTEX_INITIALIZER;
int balance = 1000; /* guarded by account_lock */
int rounds;

static void deposit(int amount) {
    pthread_mutex_lock(&account_lock);
    balance += amount; /* FIXED(A): under account_lock */
    pthread_mutex_unlock(&account_lock);
}

static int withdraw(int amount) {
    pthread_mutex_lock(&account_lock);
    int ok = balance >= amount;
    if (ok) balance -= amount; /* FIXED(B): under the same lock */
    pthread_mutex_unlock(&account_lock);
    return ok;
}

static void *depositor(void *arg) {
    for (int r = 0; r < rounds; r++) deposit(DEPOSIT);
    return arg;
}

static void *withdrawer(void *arg) {
    int *paid = arg;
    for (int r = 0; r < rounds; r++) *paid += withdraw(WITHDRAWAL) * WITHDRAWAL;
    return arg;
}

int main(int argc, char **argv) {
    int pairs = argc > 1 ? atoi(argv[1]) : 2;
    rounds = argc > 2 ? atoi(argv[2]) : 10;
    if (pairs < 1 || pairs > 50 || rounds < 1 || rounds > 1000000) {
        fputs("usage: wrong_lock_bank_fixed [PAIRS=2 (1..50)] [ROUNDS=10 (1..1000000)]\n", stderr);
        return 2;
    }
    pthread_t t[100];
    int paid[50] = {0};
    for (int i = 0; i < pairs; i++) {
        if (pthread_create(&t[2 * i], NULL, depositor, NULL) != 0) return 2;
        if (pthread_create(&t[2 * i + 1], NULL, withdrawer, &paid[i]) != 0) return 2;
    }
    int expected = 1000 + pairs * rounds * DEPOSIT;
    for (int i = 0; i < 2 * pairs; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < pairs; i++) expected -= paid[i];
    printf("balance=%d expected=%d\n", balance, expected);
    return balance != expected;
}
