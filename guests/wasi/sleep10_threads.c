/* sleep10_threads: N threads (default 4) each nanosleep MS milliseconds (default
 * 10000) at the same time; main joins them and measures the whole with
 * CLOCK_MONOTONIC.  The sleeps overlap, so the total is at least MS and well under
 * N * MS.  Under the deterministic scheduler (fuel mode) the virtual clock jumps from
 * deadline to deadline: ten seconds of sleeping end in milliseconds of real time.
 *
 *   sleep10_threads [N=4 (1..16)] [MS=10000]
 *
 * Expected stdout: "N threads slept MS ms each: overlapped\n", exit 0 (1 if the
 * measured total is below MS or at least N * MS for N > 1, 2 on a failed call). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long ms = 10000;

static long long now_ns(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) exit(2);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *sleeper(void *arg) {
    (void)arg;
    struct timespec req = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    return nanosleep(&req, NULL) == 0 ? (void *)0 : (void *)1;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 4;
    if (argc > 2) ms = atoll(argv[2]);
    if (n < 1 || n > 16 || ms < 0) {
        fputs("usage: sleep10_threads [N 1..16] [MS]\n", stderr);
        return 2;
    }
    pthread_t t[16];
    long long start = now_ns();
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], 0, sleeper, 0)) return 2;
    int failed = 0;
    for (int i = 0; i < n; i++) {
        void *r = 0;
        pthread_join(t[i], &r);
        failed |= r != 0;
    }
    if (failed) return 2;
    long long total = now_ns() - start;
    int ok = total >= ms * 1000000LL && (n == 1 || total < n * ms * 1000000LL);
    printf("%d threads slept %lld ms each: %s\n", n, ms, ok ? "overlapped" : "did not overlap");
    return ok ? 0 : 1;
}
