/* lost_update: 2 threads each do K (argv[1], default 50) increments of a shared,
 * unprotected counter as read / call a non-inlined function / write back.  The call
 * puts a preemption point (function entry) inside the race window.
 * Prints "counter=V"; exit 1 if V != 2K (an update was lost), else 0. */
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>

static volatile int counter;
static int iterations = 50;

WASMCONC_NOINLINE int lost_update_next(int v) { return v + 1; }

static void *worker(void *arg) {
    (void)arg;
    for (int i = 0; i < iterations; i++) {
        int v = counter;          /* read */
        v = lost_update_next(v);  /* call: preemption point inside the window */
        counter = v;              /* write back */
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1) iterations = atoi(argv[1]);
    pthread_t a, b;
    if (pthread_create(&a, 0, worker, 0) || pthread_create(&b, 0, worker, 0)) {
        fputs("lost_update: pthread_create failed\n", stderr);
        return 2;
    }
    pthread_join(a, 0);
    pthread_join(b, 0);
    printf("counter=%d\n", counter);
    return counter == 2 * iterations ? 0 : 1;
}
