/* detached_threads: N threads (argv[1], default 8) that nobody joins: half are created
 * detached (pthread_attr_setdetachstate), half detached right after creation
 * (pthread_detach). Each adds its number to a sum under a mutex, counts itself finished
 * and signals; main waits on the condition variable until all N have finished, then
 * returns from main while the last ones may still be on their way out.
 * stdout: "detached=N finished=N sum=S" (S = 1+...+N); exit 0 iff S is right,
 * 2 on bad arguments or a failed create/detach. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_done = PTHREAD_COND_INITIALIZER;
static int finished, nthreads = 8;
static long sum;

static void *contribute(void *arg) {
    pthread_mutex_lock(&lock);
    sum += (long)(intptr_t)arg;
    if (++finished == nthreads) pthread_cond_signal(&all_done);
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) nthreads = atoi(argv[1]);
    if (nthreads < 1 || nthreads > 1000) {
        fputs("usage: detached_threads [N=8 (1..1000)]\n", stderr);
        return 2;
    }
    pthread_attr_t detached;
    pthread_attr_init(&detached);
    pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
    for (int i = 1; i <= nthreads; i++) {
        pthread_t t;
        int rc = i % 2 ? pthread_create(&t, &detached, contribute, (void *)(intptr_t)i)
                       : pthread_create(&t, NULL, contribute, (void *)(intptr_t)i);
        if (rc == 0 && i % 2 == 0) rc = pthread_detach(t);
        if (rc != 0) {
            fprintf(stderr, "create/detach failed at thread %d\n", i);
            return 2;
        }
    }
    pthread_mutex_lock(&lock);
    while (finished < nthreads) pthread_cond_wait(&all_done, &lock);
    int seen = finished;
    long total = sum;
    pthread_mutex_unlock(&lock);
    printf("detached=%d finished=%d sum=%ld\n", nthreads, seen, total);
    return total == (long)nthreads * (nthreads + 1) / 2 ? 0 : 1;
}
