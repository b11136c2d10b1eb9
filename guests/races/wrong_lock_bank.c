/* wrong_lock_bank: two threads guard one variable with DIFFERENT mutexes.
 *
 * Bug: deposit() updates `balance` under `deposit_lock` (line 27), withdraw() under
 * `withdraw_lock` (line 34). Each lock orders the depositors among themselves and the
 * withdrawers among themselves, but nothing orders a deposit against a withdrawal: both
 * are a plain load, an arithmetic step and a plain store of `balance`, with no call or
 * loop between the load and the store, and a withdrawal that stores between a deposit's
 * load and store (or the reverse) loses the other's update.
 * Arguments: [PAIRS=2 (1..50): depositor/withdrawer pairs] [ROUNDS=10 (1..1000000)].
 * Result: stdout "balance=B expected=E"; exit 1 exactly when an update was lost (B != E,
 * E = 1000 + deposits - successful withdrawals), 0 otherwise, 2 on bad arguments.
 * Fixed twin (wrong_lock_bank_fixed.c): one mutex, `account_lock`, in both functions. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define DEPOSIT 10
#define WITHDRAWAL 7 /* not DEPOSIT: one lost deposit and one lost withdrawal must not cancel out */

pthread_mutex_t deposit_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t withdraw_lock = PTHREAD_MUTEX_INITIALIZER;
int balance = 1000; /* meant to be guarded, but by which lock? */
int rounds;

static void deposit(int amount) {
    pthread_mutex_lock(&deposit_lock);
    balance += amount; /* RACE(A): under deposit_lock */
    pthread_mutex_unlock(&deposit_lock);
}

static int withdraw(int amount) {
    pthread_mutex_lock(&withdraw_lock); /* the bug: not the lock deposit() takes */
    int ok = balance >= amount;
    if (ok) balance -= amount; /* RACE(B): under withdraw_lock */
    pthread_mutex_unlock(&withdraw_lock);
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
        fputs("usage: wrong_lock_bank [PAIRS=2 (1..50)] [ROUNDS=10 (1..1000000)]\n", stderr);
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
