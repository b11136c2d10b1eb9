/* once_init: N threads (argv[1], default 16) all need a lookup table built lazily with
 * pthread_once. The init routine counts its calls and fills 256 entries one by one
 * (long enough to be preempted midway); every thread then checks the whole table.
 * stdout: "init calls=1 threads=N incomplete=0"; exit 0 iff init ran exactly once and no
 * thread saw an unfinished table, 2 on bad arguments or a failed pthread_create. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define ENTRIES 256

static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_int init_calls, incomplete;
static unsigned table[ENTRIES];

static void build_table(void) {
    atomic_fetch_add(&init_calls, 1);
    for (unsigned i = 0; i < ENTRIES; i++) { /* a CRC-32 table */
        unsigned c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
}

static void *use_table(void *arg) {
    pthread_once(&once, build_table);
    /* table[255] is the last entry written; table[1] is 0x77073096 for CRC-32 */
    if (table[1] != 0x77073096u || table[255] != 0x2D02EF8Du) atomic_fetch_add(&incomplete, 1);
    return arg;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 16;
    if (n < 1 || n > 1000) {
        fputs("usage: once_init [N=16 (1..1000)]\n", stderr);
        return 2;
    }
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    for (int i = 0; i < n; i++) {
        if (pthread_create(&threads[i], NULL, use_table, NULL) != 0) {
            fprintf(stderr, "pthread_create failed at thread %d\n", i);
            return 2;
        }
    }
    for (int i = 0; i < n; i++) pthread_join(threads[i], NULL);
    printf("init calls=%d threads=%d incomplete=%d\n", atomic_load(&init_calls), n, atomic_load(&incomplete));
    return atomic_load(&init_calls) == 1 && atomic_load(&incomplete) == 0 ? 0 : 1;
}
