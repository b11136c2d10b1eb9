/* thread_bomb: main creates threads (each waits on a condition variable until told to
 * go) until pthread_create fails or MAX (argv[1], default 100000) are alive, then
 * releases and joins them all. A runtime must make pthread_create fail (EAGAIN) at its
 * limit, never crash or stop the program.
 * stdout: "created N, then EAGAIN" (or "created N" when MAX was reached), then
 * "joined N"; exit 0, 1 if pthread_create failed with something else than EAGAIN,
 * 2 on bad arguments. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go;

static void *waiter(void *arg) {
    pthread_mutex_lock(&m);
    while (!go)
        pthread_cond_wait(&cv, &m);
    pthread_mutex_unlock(&m);
    return arg;
}

int main(int argc, char **argv) {
    long max = argc > 1 ? atol(argv[1]) : 100000;
    if (max < 1 || max > 1000000)
        return 2;
    pthread_t *threads = malloc(sizeof(pthread_t) * (size_t)max);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 16384);
    long n = 0;
    int rc = 0;
    for (; n < max; n++) {
        rc = pthread_create(&threads[n], &attr, waiter, NULL);
        if (rc != 0)
            break;
    }
    if (rc != 0)
        printf("created %ld, then %s\n", n, rc == EAGAIN ? "EAGAIN" : "another error");
    else
        printf("created %ld\n", n);
    pthread_mutex_lock(&m);
    go = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&m);
    for (long i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    printf("joined %ld\n", n);
    return rc != 0 && rc != EAGAIN;
}
