/* cond_timedwait_timeout: a worker waits on a condition variable (clock CLOCK_MONOTONIC,
 * set with pthread_condattr_setclock) for a flag nobody ever sets, with a deadline
 * MS milliseconds ahead (argv[1], default 100), while main is blocked in pthread_join.
 * The wait must end with ETIMEDOUT, and not before the deadline.
 * stdout: "timedwait: ETIMEDOUT after MS ms"; exit 0 iff the wait timed out at or after
 * its deadline, 1 otherwise (what it returned goes to stderr), 2 on bad arguments. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond;
static int flag; /* never set: only the timeout can end the wait */
static long wait_ms = 100;
static int result = -1, early;

static struct timespec ms_from_now(clockid_t clock, long ms) {
    struct timespec t;
    clock_gettime(clock, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static int before(struct timespec a, struct timespec b) {
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

static void *wait_for_flag(void *arg) {
    struct timespec deadline = ms_from_now(CLOCK_MONOTONIC, wait_ms), now;
    int rc = 0;
    pthread_mutex_lock(&lock);
    while (!flag && rc == 0) rc = pthread_cond_timedwait(&cond, &lock, &deadline);
    pthread_mutex_unlock(&lock);
    clock_gettime(CLOCK_MONOTONIC, &now);
    result = rc;
    early = before(now, deadline);
    return arg;
}

int main(int argc, char **argv) {
    if (argc > 1) wait_ms = atol(argv[1]);
    if (wait_ms < 0 || wait_ms > 3600000) {
        fputs("usage: cond_timedwait_timeout [MS=100 (0..3600000)]\n", stderr);
        return 2;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&cond, &attr);
    pthread_t waiter;
    if (pthread_create(&waiter, NULL, wait_for_flag, NULL) != 0) {
        fputs("pthread_create failed\n", stderr);
        return 2;
    }
    pthread_join(waiter, NULL);
    if (result != ETIMEDOUT || early) {
        fprintf(stderr, "pthread_cond_timedwait returned %d%s\n", result, early ? " before its deadline" : "");
        return 1;
    }
    printf("timedwait: ETIMEDOUT after %ld ms\n", wait_ms);
    return 0;
}
