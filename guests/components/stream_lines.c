/* A real C program as a WASI 0.2 component (wasi-libc + the preview1 command
 * adapter): prints N lines (default 300) with printf, one fd_write per line
 * (line-buffered stdout), which the adapter turns into
 * blocking-write-and-flush calls on wasi:io/streams. Exit 0. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 300;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < n; i++)
        printf("component line %03d: the quick brown fox jumps over the lazy dog\n", i);
    return 0;
}
