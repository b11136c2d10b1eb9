/* exit_while_blocked: exit(3) while the other threads are blocked for good.
 * Three threads block forever: `locker` in pthread_mutex_lock on a mutex main holds,
 * `waiter` in pthread_cond_wait on a condition nobody signals, `joiner` in pthread_join
 * on `locker`. Each reports in (under a mutex + condition variable) just before it
 * blocks. Then, with argv[1]:
 *   worker (default): a fourth thread waits for the three reports and calls exit(3),
 *                     while main is blocked in pthread_join on it;
 *   main:             main waits for the three reports and calls exit(3) itself.
 * stdout: "exit(3) from the worker" / "exit(3) from main" (printf, flushed by exit);
 * exit 3, 2 on bad arguments; anything else (a hang, 0) is wrong. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER; /* main locks it and never unlocks */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t nobody_signals = PTHREAD_COND_INITIALIZER;
static pthread_cond_t reported = PTHREAD_COND_INITIALIZER;
static int reports;
static pthread_t locker_thread;

static void report_in(void) {
    pthread_mutex_lock(&lock);
    reports++;
    pthread_cond_broadcast(&reported);
    pthread_mutex_unlock(&lock);
}

static void wait_for_reports(void) {
    pthread_mutex_lock(&lock);
    while (reports < 3) pthread_cond_wait(&reported, &lock);
    pthread_mutex_unlock(&lock);
}

static void *locker(void *arg) {
    report_in();
    pthread_mutex_lock(&held);
    return arg;
}

static void *waiter(void *arg) {
    pthread_mutex_lock(&lock);
    reports++;
    pthread_cond_broadcast(&reported);
    for (;;) pthread_cond_wait(&nobody_signals, &lock);
    return arg;
}

static void *joiner(void *arg) {
    report_in();
    pthread_join(locker_thread, NULL);
    return arg;
}

static void *exiter(void *arg) {
    wait_for_reports();
    printf("exit(3) from the worker\n");
    exit(3);
    return arg;
}

int main(int argc, char **argv) {
    const char *who = argc > 1 ? argv[1] : "worker";
    if (strcmp(who, "worker") != 0 && strcmp(who, "main") != 0) {
        fputs("usage: exit_while_blocked [worker|main]\n", stderr);
        return 2;
    }
    pthread_mutex_lock(&held);
    pthread_t waiter_thread, joiner_thread, exit_thread;
    if (pthread_create(&locker_thread, NULL, locker, NULL) != 0 ||
        pthread_create(&waiter_thread, NULL, waiter, NULL) != 0 ||
        pthread_create(&joiner_thread, NULL, joiner, NULL) != 0) {
        fputs("pthread_create failed\n", stderr);
        return 2;
    }
    if (strcmp(who, "main") == 0) {
        wait_for_reports();
        printf("exit(3) from main\n");
        exit(3);
    }
    if (pthread_create(&exit_thread, NULL, exiter, NULL) != 0) {
        fputs("pthread_create failed\n", stderr);
        return 2;
    }
    pthread_join(exit_thread, NULL);
    fputs("pthread_join returned: exit(3) did not end the program\n", stderr);
    return 1;
}
