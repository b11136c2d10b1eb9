/* synced: the lost update of racy.c made correct, one synchronization idiom per MODE
 * (argv[1]); every mode must report no data race. Two workers (add_one, add_two) update
 * the plain int `counter`, main reads it at the end.
 *   mutex    pthread_mutex around each update
 *   rwlock   pthread_rwlock (write lock to update, read lock to read)
 *   spin     pthread_spinlock
 *   atomic   C11 atomic_fetch_add on an _Atomic int (the plain int is not used)
 *   barrier  add_one updates, then both wait on a pthread_barrier; add_two updates after it
 *   join     main joins add_one before add_two is even created
 *   sem      add_one updates then sem_post; add_two sem_waits then updates
 *   once     both call pthread_once(init) and read what init wrote
 *   cond     add_one updates and signals a condition variable; add_two waits for it
 *   flag     add_one updates, then a release store of an atomic flag; add_two spins on an
 *            acquire load of it (a hand-written handoff through C11 atomics)
 *   tsd      each thread keeps its own counter in pthread_setspecific memory
 *   detached add_one runs detached and posts a semaphore when done; main waits for it
 * stdout: "counter=3" (tsd: "tsd=3"); exit 0 (1 if the value is wrong, 2 on bad arguments). */
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int counter;
static _Atomic int atomic_counter;
static atomic_int handoff;
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t spin;
static pthread_barrier_t barrier;
static sem_t sem;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int signalled;
static pthread_key_t key;
static int tsd_sum;
static const char *mode;

static void init(void) { counter = 3; }

__attribute__((noinline)) static void update(int k) {
    if (!strcmp(mode, "mutex")) {
        pthread_mutex_lock(&mutex); counter += k; pthread_mutex_unlock(&mutex);
    } else if (!strcmp(mode, "rwlock")) {
        pthread_rwlock_wrlock(&rwlock); counter += k; pthread_rwlock_unlock(&rwlock);
    } else if (!strcmp(mode, "spin")) {
        pthread_spin_lock(&spin); counter += k; pthread_spin_unlock(&spin);
    } else if (!strcmp(mode, "atomic")) {
        atomic_fetch_add(&atomic_counter, k);
    } else if (!strcmp(mode, "barrier")) {
        if (k == 1) counter += k;
        pthread_barrier_wait(&barrier);
        if (k == 2) counter += k;
    } else if (!strcmp(mode, "join") || !strcmp(mode, "detached")) {
        counter += k;
        if (k == 1 && !strcmp(mode, "detached")) sem_post(&sem);
    } else if (!strcmp(mode, "sem")) {
        if (k == 2) sem_wait(&sem);
        counter += k;
        if (k == 1) sem_post(&sem);
    } else if (!strcmp(mode, "once")) {
        pthread_once(&once, init);
        if (counter != 3) abort();
    } else if (!strcmp(mode, "cond")) {
        if (k == 1) {
            counter += k;
            pthread_mutex_lock(&mutex); signalled = 1; pthread_cond_signal(&cond); pthread_mutex_unlock(&mutex);
        } else {
            pthread_mutex_lock(&mutex);
            while (!signalled) pthread_cond_wait(&cond, &mutex);
            pthread_mutex_unlock(&mutex);
            counter += k;
        }
    } else if (!strcmp(mode, "flag")) {
        if (k == 1) {
            counter += k;
            atomic_store_explicit(&handoff, 1, memory_order_release);
        } else {
            while (!atomic_load_explicit(&handoff, memory_order_acquire)) {}
            counter += k;
        }
    } else if (!strcmp(mode, "tsd")) {
        int *mine = malloc(sizeof *mine);
        *mine = k;
        pthread_setspecific(key, mine);
        int *again = pthread_getspecific(key);
        pthread_mutex_lock(&mutex); tsd_sum += *again; pthread_mutex_unlock(&mutex);
    }
}

static void *add_one(void *arg) { update(1); return arg; }
static void *add_two(void *arg) { update(2); return arg; }

static void release_value(void *p) { free(p); }

int main(int argc, char **argv) {
    mode = argc > 1 ? argv[1] : "mutex";
    static const char *modes[] = {"mutex", "rwlock", "spin", "atomic", "barrier", "join", "sem",
                                  "once", "cond", "flag", "tsd", "detached"};
    int known = 0;
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) known |= !strcmp(mode, modes[i]);
    if (!known) {
        fprintf(stderr, "usage: synced MODE (mutex rwlock spin atomic barrier join sem once cond flag tsd detached)\n");
        return 2;
    }
    pthread_spin_init(&spin, 0);
    pthread_barrier_init(&barrier, NULL, 2);
    sem_init(&sem, 0, 0);
    pthread_key_create(&key, release_value);
    pthread_t a, b;
    if (!strcmp(mode, "join")) {
        pthread_create(&a, NULL, add_one, NULL);
        pthread_join(a, NULL);
        pthread_create(&b, NULL, add_two, NULL);
        pthread_join(b, NULL);
    } else if (!strcmp(mode, "detached")) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_create(&a, &attr, add_one, NULL);
        sem_wait(&sem);
        update(2);
    } else {
        pthread_create(&a, NULL, add_one, NULL);
        pthread_create(&b, NULL, add_two, NULL);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
    }
    int value = !strcmp(mode, "atomic") ? atomic_load(&atomic_counter) : !strcmp(mode, "tsd") ? tsd_sum : counter;
    printf("%s=%d\n", !strcmp(mode, "tsd") ? "tsd" : "counter", value);
    return value == 3 ? 0 : 1;
}
