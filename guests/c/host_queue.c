/* host_queue: producer/consumer through the host.  A producer thread hands the items
 * 1..N (argv[1], default 20) to the host one by one with host.put(item); a consumer
 * thread takes N items back with host.get() and sums them.  The host keeps them in a
 * queue (the tests use a bounded pytest_wasmconc.host.Queue), so both threads block in
 * host functions: a full queue parks the producer, an empty one the consumer.
 * Prints "sum=S"; exit 0 iff S == N(N+1)/2 (210 for N=20), else 1. */
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>

__attribute__((import_module("host"), import_name("put"))) void host_put(int item);
__attribute__((import_module("host"), import_name("get"))) int host_get(void);

static int items = 20;
static long long sum;
static pthread_mutex_t sum_lock = PTHREAD_MUTEX_INITIALIZER;

WASMCONC_NOINLINE void host_queue_produce(int item) { host_put(item); }

WASMCONC_NOINLINE int host_queue_consume(void) { return host_get(); }

static void *producer(void *arg) {
    (void)arg;
    for (int i = 1; i <= items; i++)
        host_queue_produce(i);
    return 0;
}

static void *consumer(void *arg) {
    (void)arg;
    for (int i = 0; i < items; i++) {
        int v = host_queue_consume();
        pthread_mutex_lock(&sum_lock);
        sum += v;
        pthread_mutex_unlock(&sum_lock);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1) items = atoi(argv[1]);
    pthread_t p, c;
    if (pthread_create(&p, 0, producer, 0) || pthread_create(&c, 0, consumer, 0)) {
        fputs("host_queue: pthread_create failed\n", stderr);
        return 2;
    }
    pthread_join(p, 0);
    pthread_join(c, 0);
    printf("sum=%lld\n", sum);
    return sum == (long long)items * (items + 1) / 2 ? 0 : 1;
}
