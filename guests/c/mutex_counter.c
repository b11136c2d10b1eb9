/* mutex_counter: like lost_update (2 threads x K read/call/write increments, K =
 * argv[1], default 50) but every increment holds a pthread mutex.
 * Prints "counter=V"; exit 0 iff V == 2K. */
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>

static volatile int counter;
static int iterations = 50;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

WASMCONC_NOINLINE int mutex_counter_next(int v) { return v + 1; }

static void *worker(void *arg) {
    (void)arg;
    for (int i = 0; i < iterations; i++) {
        pthread_mutex_lock(&lock);
        int v = counter;
        v = mutex_counter_next(v);
        counter = v;
        pthread_mutex_unlock(&lock);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1) iterations = atoi(argv[1]);
    pthread_t a, b;
    if (pthread_create(&a, 0, worker, 0) || pthread_create(&b, 0, worker, 0)) {
        fputs("mutex_counter: pthread_create failed\n", stderr);
        return 2;
    }
    pthread_join(a, 0);
    pthread_join(b, 0);
    printf("counter=%d\n", counter);
    return counter == 2 * iterations ? 0 : 1;
}
