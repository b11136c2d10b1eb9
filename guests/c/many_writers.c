/* many_writers: N threads (argv[1], default 4) each print M lines (argv[2], default
 * 10) "thread T line L\n", T in 0..N-1, L in 0..M-1, with exactly one write(2) per
 * line (no stdio buffering).  Lines may interleave in any order but never tear.
 * Exit 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>

#define MAX_THREADS 64

static int lines = 10;

static void *writer(void *arg) {
    int t = (int)(long)arg;
    char line[64];
    for (int l = 0; l < lines; l++) {
        int len = snprintf(line, sizeof line, "thread %d line %d\n", t, l);
        write(1, line, (size_t)len);
    }
    return 0;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 4;
    if (argc > 2) lines = atoi(argv[2]);
    if (n < 1 || n > MAX_THREADS || lines < 0) {
        fputs("usage: many_writers [N 1..64] [M]\n", stderr);
        return 2;
    }
    pthread_t threads[MAX_THREADS];
    for (int t = 0; t < n; t++)
        if (pthread_create(&threads[t], 0, writer, (void *)(long)t)) {
            fputs("many_writers: pthread_create failed\n", stderr);
            return 2;
        }
    for (int t = 0; t < n; t++)
        pthread_join(threads[t], 0);
    return 0;
}
