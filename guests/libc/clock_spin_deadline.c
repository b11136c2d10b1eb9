/* clock_spin_deadline: a thread waits for a deadline MS ms ahead (argv[1], default 500)
 * in a spin loop polling clock_gettime(CLOCK_MONOTONIC), never blocking (the shape of
 * wasi-libc's busy-wait futex wait, which polls CLOCK_REALTIME: see busywait_timedwait).
 * Beside it, a worker sums 1..N (N = 200000) in a plain loop; main joins both. The spin
 * must end (the clock must advance while the thread only reads it) and not before the
 * deadline.
 * stdout: "spun until the MS ms deadline; worker sum=20000100000"; exit 0 iff both are
 * right, 1 otherwise, 2 on bad arguments. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N 200000LL

static long spin_ms = 500;
static long long worker_sum, spun_ns, polls;

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void *spin_until_deadline(void *arg) {
    long long start = now_ns(), deadline = start + spin_ms * 1000000LL, now;
    do {
        now = now_ns();
        polls++;
    } while (now < deadline);
    spun_ns = now - start;
    return arg;
}

static void *sum_numbers(void *arg) {
    volatile long long sum = 0; /* volatile: keep the loop a loop */
    for (long long i = 1; i <= N; i++) sum += i;
    worker_sum = sum;
    return arg;
}

int main(int argc, char **argv) {
    if (argc > 1) spin_ms = atol(argv[1]);
    if (spin_ms < 0 || spin_ms > 60000) {
        fputs("usage: clock_spin_deadline [MS=500 (0..60000)]\n", stderr);
        return 2;
    }
    pthread_t spinner, worker;
    if (pthread_create(&spinner, NULL, spin_until_deadline, NULL) != 0 ||
        pthread_create(&worker, NULL, sum_numbers, NULL) != 0) {
        fputs("pthread_create failed\n", stderr);
        return 2;
    }
    pthread_join(spinner, NULL);
    pthread_join(worker, NULL);
    fprintf(stderr, "clock polls: %lld\n", polls);
    printf("spun until the %ld ms deadline; worker sum=%lld\n", spin_ms, worker_sum);
    return spun_ns >= spin_ms * 1000000LL && worker_sum == N * (N + 1) / 2 ? 0 : 1;
}
