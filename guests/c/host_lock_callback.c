/* host_lock_callback: a host lock held across a call back into the guest.
 * Thread 1 calls host.with_lock(1) ROUNDS times: the host takes its lock "db" and,
 * still holding it, calls back into the guest's export guest_callback(x), which locks
 * the guest mutex M.  Thread 2 locks M, then calls host.query(2), which takes "db".
 * So thread 1 orders db -> M and thread 2 M -> db: when thread 1 holds db and thread 2
 * holds M, each waits for the other (a deadlock across the guest/host boundary).
 * Without it: both finish, main prints "no deadlock counter=C", exit 0.
 * Usage: host_lock_callback.wasm [ROUNDS=1] */
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>

__attribute__((import_module("host"), import_name("with_lock"))) int host_with_lock(int x);
__attribute__((import_module("host"), import_name("query"))) int host_query(int x);

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int counter;
static int rounds = 1;

/* Called by the host while it holds "db". */
__attribute__((export_name("guest_callback"))) int guest_callback(int x) {
    pthread_mutex_lock(&m);
    counter += x;
    int c = counter;
    pthread_mutex_unlock(&m);
    return c;
}

WASMCONC_NOINLINE void host_lock_callback_between(void) { counter += 0; }

static void *with_lock_thread(void *arg) {
    (void)arg;
    for (int i = 0; i < rounds; i++)
        host_with_lock(1);
    return 0;
}

static void *query_thread(void *arg) {
    (void)arg;
    for (int i = 0; i < rounds; i++) {
        pthread_mutex_lock(&m);
        host_lock_callback_between();
        counter += host_query(2);
        pthread_mutex_unlock(&m);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1) rounds = atoi(argv[1]);
    pthread_t t1, t2;
    if (pthread_create(&t1, 0, with_lock_thread, 0) || pthread_create(&t2, 0, query_thread, 0)) {
        fputs("host_lock_callback: pthread_create failed\n", stderr);
        return 2;
    }
    pthread_join(t1, 0);
    pthread_join(t2, 0);
    printf("no deadlock counter=%d\n", counter);
    return 0;
}
