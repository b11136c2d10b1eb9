/* sleep10: nanosleep for MS milliseconds (default 10000: ten seconds), measuring it
 * with CLOCK_MONOTONIC.  Under the deterministic scheduler (fuel mode) the clock is
 * virtual and jumps to the deadline, so this ends in milliseconds of real time.
 *
 *   sleep10 [MS=10000]
 *
 * Expected stdout: "sleep MS ms: slept at least MS ms\n", exit 0 (1 if the clock
 * says the sleep was shorter, 2 on a failed call). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long now_ns(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) exit(2);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
    long long ms = argc > 1 ? atoll(argv[1]) : 10000;
    struct timespec req = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    long long start = now_ns();
    if (nanosleep(&req, NULL) != 0) return 2;
    long long slept = now_ns() - start;
    int ok = slept >= ms * 1000000LL;
    printf("sleep %lld ms: %s\n", ms, ok ? "slept at least that long" : "woke up early");
    return ok ? 0 : 1;
}
