/* rwlock_readers_writers: R readers (4) and W writers (2) share one record {a, b}
 * under a pthread_rwlock_t. Each writer does U updates (argv[1], default 200): under
 * the write lock it increments a, does a little work, then increments b, so a != b is
 * visible only to someone not excluded by the lock. Each reader reads the pair U times
 * under the read lock and counts torn reads (a != b). The most readers seen inside the
 * lock at once goes to stderr (varies per run).
 * stdout: "writes=2U a=2U b=2U torn=0"; exit 0 iff a == b == 2U and no torn read,
 * 2 on bad arguments or a failed pthread_create. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define READERS 4
#define WRITERS 2

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static struct { volatile long a, b; } record;
static atomic_int torn, inside, most_inside;
static int updates = 200;

static void *write_updates(void *arg) {
    for (int i = 0; i < updates; i++) {
        pthread_rwlock_wrlock(&rw);
        record.a++;
        for (volatile int spin = 0; spin < 20; spin++) {
        }
        record.b++;
        pthread_rwlock_unlock(&rw);
    }
    return arg;
}

static void *read_pairs(void *arg) {
    for (int i = 0; i < updates; i++) {
        pthread_rwlock_rdlock(&rw);
        int now = atomic_fetch_add(&inside, 1) + 1, most = atomic_load(&most_inside);
        while (now > most && !atomic_compare_exchange_weak(&most_inside, &most, now)) {
        }
        if (record.a != record.b) atomic_fetch_add(&torn, 1);
        atomic_fetch_sub(&inside, 1);
        pthread_rwlock_unlock(&rw);
    }
    return arg;
}

int main(int argc, char **argv) {
    if (argc > 1) updates = atoi(argv[1]);
    if (updates < 0 || updates > 10000000) {
        fputs("usage: rwlock_readers_writers [U=200]\n", stderr);
        return 2;
    }
    pthread_t threads[READERS + WRITERS];
    for (int i = 0; i < READERS + WRITERS; i++) {
        if (pthread_create(&threads[i], NULL, i < READERS ? read_pairs : write_updates, NULL) != 0) {
            fprintf(stderr, "pthread_create failed at thread %d\n", i);
            return 2;
        }
    }
    for (int i = 0; i < READERS + WRITERS; i++) pthread_join(threads[i], NULL);
    fprintf(stderr, "most readers inside at once: %d\n", atomic_load(&most_inside));
    long want = (long)WRITERS * updates;
    printf("writes=%ld a=%ld b=%ld torn=%d\n", want, record.a, record.b, atomic_load(&torn));
    return record.a == want && record.b == want && atomic_load(&torn) == 0 ? 0 : 1;
}
