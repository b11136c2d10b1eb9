/* host_call_order: two threads each call the user import host.step(thread, k) twice (k = 0, 1).
 * What a test looks at is the order in which the host sees the four calls: with host calls as
 * scheduling points, different schedules give different orders (6 are possible; 2 with each
 * thread's calls in a row, 4 interleaved). Exit 0. */
#include <pthread.h>

__attribute__((import_module("host"), import_name("step"))) void host_step(int thread, int k);

static void *worker(void *arg) {
    int me = (int)(long)arg;
    host_step(me, 0);
    host_step(me, 1);
    return 0;
}

int main(void) {
    pthread_t t[2];
    for (long i = 0; i < 2; i++) pthread_create(&t[i], 0, worker, (void *)i);
    for (int i = 0; i < 2; i++) pthread_join(t[i], 0);
    return 0;
}
