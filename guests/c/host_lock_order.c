/* host_lock_order: a lock-order cycle through a host lock.  The host (the embedding)
 * provides three imports that use one host lock H (a "database" lock):
 *   host.with_db(x) -> x + 1    takes H, works, releases H (a host callback)
 *   host.begin()                takes H and keeps it (a transaction)
 *   host.end()                  releases H
 * Thread 1 calls host.with_db while holding the guest mutex M (M -> H); thread 2 begins
 * a transaction and then locks M (H -> M).  In some schedules both wait forever.
 * Usage: host_lock_order.wasm [ROUNDS=1].  Prints "sum=S" and exits 0 when no deadlock. */
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>

__attribute__((import_module("host"), import_name("with_db"))) int host_with_db(int x);
__attribute__((import_module("host"), import_name("begin"))) void host_begin(void);
__attribute__((import_module("host"), import_name("end"))) void host_end(void);

static pthread_mutex_t guest_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int sum;
static int rounds = 1;

WASMCONC_NOINLINE void host_lock_order_work(int x) { sum += x; }

static void *guest_lock_then_host(void *arg) {
    (void)arg;
    for (int i = 0; i < rounds; i++) {
        pthread_mutex_lock(&guest_lock);
        host_lock_order_work(host_with_db(i));
        pthread_mutex_unlock(&guest_lock);
    }
    return 0;
}

static void *host_then_guest_lock(void *arg) {
    (void)arg;
    for (int i = 0; i < rounds; i++) {
        host_begin();
        pthread_mutex_lock(&guest_lock);
        host_lock_order_work(1);
        pthread_mutex_unlock(&guest_lock);
        host_end();
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1) rounds = atoi(argv[1]);
    pthread_t t1, t2;
    if (pthread_create(&t1, 0, guest_lock_then_host, 0) || pthread_create(&t2, 0, host_then_guest_lock, 0)) {
        fputs("host_lock_order: pthread_create failed\n", stderr);
        return 2;
    }
    pthread_join(t1, 0);
    pthread_join(t2, 0);
    printf("sum=%d\n", sum);
    return 0;
}
