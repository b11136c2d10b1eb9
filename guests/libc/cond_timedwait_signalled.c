/* cond_timedwait_signalled: main waits on a condition variable (default clock,
 * CLOCK_REALTIME) for `ready` with a deadline 10 s ahead; a worker sleeps MS ms
 * (argv[1], default 20) with nanosleep, then sets `ready` under the mutex and signals.
 * The wait must end with 0 (signalled), well before its deadline.
 * stdout: "timedwait: signalled after the worker's MS ms sleep"; exit 0 iff the wait
 * returned 0 with `ready` set, 1 otherwise (what it returned goes to stderr), 2 on bad
 * arguments. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ready;
static long sleep_ms = 20;

static void *signal_later(void *arg) {
    struct timespec nap = {sleep_ms / 1000, (sleep_ms % 1000) * 1000000L};
    while (nanosleep(&nap, &nap) != 0 && errno == EINTR) {
    }
    pthread_mutex_lock(&lock);
    ready = 1;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
    return arg;
}

int main(int argc, char **argv) {
    if (argc > 1) sleep_ms = atol(argv[1]);
    if (sleep_ms < 0 || sleep_ms > 5000) {
        fputs("usage: cond_timedwait_signalled [MS=20 (0..5000)]\n", stderr);
        return 2;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_t signaller;
    pthread_mutex_lock(&lock);
    if (pthread_create(&signaller, NULL, signal_later, NULL) != 0) {
        fputs("pthread_create failed\n", stderr);
        return 2;
    }
    int rc = 0;
    while (!ready && rc == 0) rc = pthread_cond_timedwait(&cond, &lock, &deadline);
    int seen = ready;
    pthread_mutex_unlock(&lock);
    pthread_join(signaller, NULL);
    if (rc != 0 || !seen) {
        fprintf(stderr, "pthread_cond_timedwait returned %d, ready=%d\n", rc, seen);
        return 1;
    }
    printf("timedwait: signalled after the worker's %ld ms sleep\n", sleep_ms);
    return 0;
}
