/* mutex_many_threads: N threads (argv[1], default 24) are all started and all runnable
 * at the same time; each adds 1 to one shared counter K times (argv[2], default 500)
 * under a pthread_mutex_t. main joins them all.
 * stdout: "threads=N counter=C"; exit 0 iff C == N*K (no update lost), 2 on bad arguments. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static int rounds = 500;

static void *add_rounds(void *arg) {
    for (int i = 0; i < rounds; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return arg;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 24;
    if (argc > 2) rounds = atoi(argv[2]);
    if (n < 1 || n > 1000 || rounds < 0) {
        fputs("usage: mutex_many_threads [N=24 (1..1000)] [K=500]\n", stderr);
        return 2;
    }
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    for (int i = 0; i < n; i++) {
        if (pthread_create(&threads[i], NULL, add_rounds, NULL) != 0) {
            fprintf(stderr, "pthread_create failed at thread %d\n", i);
            return 2;
        }
    }
    for (int i = 0; i < n; i++) pthread_join(threads[i], NULL);
    printf("threads=%d counter=%ld\n", n, counter);
    return counter == (long)n * rounds ? 0 : 1;
}
