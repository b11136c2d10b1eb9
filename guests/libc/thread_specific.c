/* thread_specific: thread-specific data with a destructor. N threads (argv[1], default 8)
 * each store a malloc'd record {id} under one pthread_key_t, look it up again later
 * (after a sched_yield) and check it is their own. When each thread returns from its
 * start routine, the key's destructor frees the record and adds its id to a total.
 * main's own value stays NULL throughout.
 * stdout: "destructors=N ids=S wrong=0" (S = 0+1+...+N-1); exit 0 iff every destructor
 * ran once with its own record and no thread saw another's, 2 on bad arguments. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct record { int id; };

static pthread_key_t key;
static atomic_int destructors, wrong;
static atomic_long id_total;

static void destroy_record(void *value) {
    struct record *r = value;
    atomic_fetch_add(&destructors, 1);
    atomic_fetch_add(&id_total, r->id);
    free(r);
}

static void *own_record(void *arg) {
    int id = (int)(intptr_t)arg;
    struct record *r = malloc(sizeof *r);
    r->id = id;
    if (pthread_getspecific(key) != NULL) atomic_fetch_add(&wrong, 1);
    pthread_setspecific(key, r);
    sched_yield();
    struct record *back = pthread_getspecific(key);
    if (back != r || back->id != id) atomic_fetch_add(&wrong, 1);
    return NULL;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 8;
    if (n < 1 || n > 1000) {
        fputs("usage: thread_specific [N=8 (1..1000)]\n", stderr);
        return 2;
    }
    if (pthread_key_create(&key, destroy_record) != 0) {
        fputs("pthread_key_create failed\n", stderr);
        return 2;
    }
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    for (int i = 0; i < n; i++) {
        if (pthread_create(&threads[i], NULL, own_record, (void *)(intptr_t)i) != 0) {
            fprintf(stderr, "pthread_create failed at thread %d\n", i);
            return 2;
        }
    }
    for (int i = 0; i < n; i++) pthread_join(threads[i], NULL);
    if (pthread_getspecific(key) != NULL) atomic_fetch_add(&wrong, 1);
    long want = (long)n * (n - 1) / 2;
    printf("destructors=%d ids=%ld wrong=%d\n", atomic_load(&destructors), atomic_load(&id_total),
           atomic_load(&wrong));
    return atomic_load(&destructors) == n && atomic_load(&id_total) == want && atomic_load(&wrong) == 0 ? 0 : 1;
}
