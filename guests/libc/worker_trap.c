/* worker_trap: a worker hits a trap (__builtin_trap, wasm `unreachable`) in the noinline
 * function corrupt_state_detected after some locked work, while main is blocked in
 * pthread_join on it and a second worker is blocked on a mutex main holds. The trap
 * must end the whole program, with a backtrace naming corrupt_state_detected.
 * Before trapping, the worker waits until main is about to join and the other worker
 * has started, then sleeps 20 ms so both are most likely blocked (a report shows
 * main in __original_main and the other worker in blocked_worker in any case).
 * stdout: "worker: about to trap" (written with write(2), so it is not lost in a stdio
 * buffer); the program ends with a trap (wasmtime: exit 134 after the trap message). */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER, lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int state;
static volatile int blocked_started, main_joining;

__attribute__((noinline)) static void corrupt_state_detected(int value) {
    if (value != 12345) __builtin_trap();
}

static void *blocked_worker(void *arg) {
    blocked_started = 1;
    pthread_mutex_lock(&held);
    return arg;
}

static void *trapping_worker(void *arg) {
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&lock);
        state += i;
        pthread_mutex_unlock(&lock);
    }
    while (!blocked_started || !main_joining)
        sched_yield();
    usleep(20000);
    static const char msg[] = "worker: about to trap\n";
    write(1, msg, strlen(msg));
    corrupt_state_detected(state);
    return arg;
}

int main(void) {
    pthread_mutex_lock(&held);
    pthread_t blocked, trapping;
    if (pthread_create(&blocked, NULL, blocked_worker, NULL) != 0 ||
        pthread_create(&trapping, NULL, trapping_worker, NULL) != 0) {
        fputs("pthread_create failed\n", stderr);
        return 2;
    }
    main_joining = 1;
    pthread_join(trapping, NULL);
    fputs("pthread_join returned: the trap did not end the program\n", stderr);
    return 1;
}
