/* busywait_timedwait: wasi-libc's busy-wait futex mode, as used where the main thread may
 * not block (browsers): main calls __wasilibc_enable_futex_busywait_on_current_thread(),
 * so its futex waits become spin loops polling clock_gettime until their deadline. main
 * then waits on a condition variable nobody signals, with a deadline MS ms ahead (argv[1],
 * default 500), while a worker adds 1 to a counter K times (argv[2], default 2000) under
 * the same mutex. main's wait must time out (ETIMEDOUT, not before the deadline), and its
 * mutex and join waits (also spinning) must still work.
 * stdout: "busywait timedwait: ETIMEDOUT after MS ms; counter=K"; exit 0 iff both are
 * right, 1 otherwise, 2 on bad arguments. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <wasi/libc-busywait.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int rounds = 2000;
static long counter;

static void *count_up(void *arg) {
    for (int i = 0; i < rounds; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return arg;
}

int main(int argc, char **argv) {
    long wait_ms = argc > 1 ? atol(argv[1]) : 500;
    if (argc > 2) rounds = atoi(argv[2]);
    if (wait_ms < 0 || wait_ms > 60000 || rounds < 0) {
        fputs("usage: busywait_timedwait [MS=500 (0..60000)] [K=2000]\n", stderr);
        return 2;
    }
    __wasilibc_enable_futex_busywait_on_current_thread();
    pthread_t worker;
    if (pthread_create(&worker, NULL, count_up, NULL) != 0) {
        fputs("pthread_create failed\n", stderr);
        return 2;
    }
    struct timespec deadline, now;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += wait_ms % 1000 * 1000000L;
    deadline.tv_sec += wait_ms / 1000 + deadline.tv_nsec / 1000000000L;
    deadline.tv_nsec %= 1000000000L;
    int rc = 0;
    pthread_mutex_lock(&lock);
    while (rc == 0) rc = pthread_cond_timedwait(&never, &lock, &deadline); /* 0 = spurious */
    pthread_mutex_unlock(&lock);
    clock_gettime(CLOCK_REALTIME, &now);
    int early = now.tv_sec < deadline.tv_sec || (now.tv_sec == deadline.tv_sec && now.tv_nsec < deadline.tv_nsec);
    pthread_join(worker, NULL);
    if (rc != ETIMEDOUT || early) {
        fprintf(stderr, "pthread_cond_timedwait returned %d%s\n", rc, early ? " before its deadline" : "");
        return 1;
    }
    printf("busywait timedwait: ETIMEDOUT after %ld ms; counter=%ld\n", wait_ms, counter);
    return counter == rounds ? 0 : 1;
}
