/* host_calls: plain calls into user host functions, from main and from a worker thread.
 * Imports host.log(ptr, len), host.add(a, b) -> a + b (checked) and host.check(x) -> int.
 * Main logs "main: start", starts a worker that logs "worker: adding" and sums
 * host.add(i, i) for i < 10 (90), then calls host.check(sum) from host_calls_check
 * (a named frame for backtraces); main joins and logs "main: done".
 * Prints "sum=90 check=R" (R = what host.check returned); exit 0 iff sum == 90.
 * A test makes host.check raise to see the exception and this backtrace:
 * host_calls_check <- host_calls_worker <- ... <- wasi_thread_start. */
#include <stdio.h>
#include <string.h>
#include <pthread.h>

__attribute__((import_module("host"), import_name("log"))) void host_log(const char *msg, int len);
__attribute__((import_module("host"), import_name("add"))) int host_add(int a, int b);
__attribute__((import_module("host"), import_name("check"))) int host_check(int x);

static int sum, checked;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void say(const char *msg) { host_log(msg, (int)strlen(msg)); }

WASMCONC_NOINLINE int host_calls_check(int x) { return host_check(x); }

WASMCONC_NOINLINE void host_calls_worker(void) {
    say("worker: adding");
    int s = 0;
    for (int i = 0; i < 10; i++)
        s = host_add(s, i + i);
    pthread_mutex_lock(&lock);
    sum = s;
    pthread_mutex_unlock(&lock);
    checked = host_calls_check(s);
}

static void *worker(void *arg) {
    (void)arg;
    host_calls_worker();
    return 0;
}

int main(void) {
    say("main: start");
    pthread_t t;
    if (pthread_create(&t, 0, worker, 0)) {
        fputs("host_calls: pthread_create failed\n", stderr);
        return 2;
    }
    pthread_join(t, 0);
    say("main: done");
    printf("sum=%d check=%d\n", sum, checked);
    return sum == 90 ? 0 : 1;
}
