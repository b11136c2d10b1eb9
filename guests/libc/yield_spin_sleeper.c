/* yield_spin_sleeper: one thread spins on sched_yield() until a flag is set; another
 * thread sleeps MS ms (argv[1], default 200: half with usleep, half with nanosleep) and
 * then sets the flag; main joins both. The sleeper must wake although the spinner never
 * blocks, and not before its time (CLOCK_MONOTONIC). The spinner's yield count goes to
 * stderr (varies per run).
 * stdout: "sleeper woke after MS ms; spinner saw the flag"; exit 0 iff the sleep lasted
 * at least MS ms, 1 if it ended early, 2 on bad arguments. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static atomic_int woke;
static long sleep_ms = 200;
static long long slept_ns;

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void *sleeper(void *arg) {
    long long start = now_ns();
    usleep((useconds_t)(sleep_ms / 2 * 1000));
    long rest = sleep_ms - sleep_ms / 2;
    struct timespec nap = {rest / 1000, (rest % 1000) * 1000000L};
    while (nanosleep(&nap, &nap) != 0 && errno == EINTR) {
    }
    slept_ns = now_ns() - start;
    atomic_store(&woke, 1);
    return arg;
}

static void *spinner(void *arg) {
    long yields = 0;
    while (!atomic_load(&woke)) {
        sched_yield();
        yields++;
    }
    fprintf(stderr, "spinner yielded %ld times\n", yields);
    return arg;
}

int main(int argc, char **argv) {
    if (argc > 1) sleep_ms = atol(argv[1]);
    if (sleep_ms < 0 || sleep_ms > 60000) {
        fputs("usage: yield_spin_sleeper [MS=200 (0..60000)]\n", stderr);
        return 2;
    }
    pthread_t spin_thread, sleep_thread;
    if (pthread_create(&spin_thread, NULL, spinner, NULL) != 0 ||
        pthread_create(&sleep_thread, NULL, sleeper, NULL) != 0) {
        fputs("pthread_create failed\n", stderr);
        return 2;
    }
    pthread_join(sleep_thread, NULL);
    pthread_join(spin_thread, NULL);
    if (slept_ns < sleep_ms * 1000000LL) {
        fprintf(stderr, "the sleep ended after %lld ns, before %ld ms\n", slept_ns, sleep_ms);
        return 1;
    }
    printf("sleeper woke after %ld ms; spinner saw the flag\n", sleep_ms);
    return 0;
}
