/* bench_kernels: the three kernels of benchmarks/kernels.py (fib, dot product, matrix
 * multiply) in C, for benchmarks/c_kernels.py: the fuel-mode overhead on code clang
 * wrote (stack pointer global, its own loop shapes) rather than hand-written WAT.
 *
 * Two ways in, running the same functions:
 *   - exports bench_fib(n), bench_dot(n, reps), bench_matmul(n): a plain wasmtime-py
 *     call (a WASI linker is needed only because wasi-libc's start-up code is linked);
 *   - as a WASI command: bench_kernels KERNEL [ARGS...]
 *       fib N | dot N REPS | matmul N      runs one kernel, prints "KERNEL=VALUE"
 *       (no arguments)                     a small run of all three (for tests that
 *                                          run every guest without arguments)
 * Single-threaded, own memory.  Exit 0 (2 on bad arguments). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOT_MAX 100000
#define MAT_MAX 256

/* Static (BSS) arrays, filled at run time: were they never written, clang could fold
 * the loads to 0.0 and delete the loops. */
static double dot_a[DOT_MAX], dot_b[DOT_MAX];
static double mat_a[MAT_MAX * MAT_MAX], mat_b[MAT_MAX * MAT_MAX], mat_c[MAT_MAX * MAT_MAX];

__attribute__((export_name("bench_fib"))) WASMCONC_NOINLINE int bench_fib(int n) {
    return n < 2 ? n : bench_fib(n - 1) + bench_fib(n - 2);
}

__attribute__((export_name("bench_dot"))) WASMCONC_NOINLINE double bench_dot(int n, int reps) {
    if (n > DOT_MAX) n = DOT_MAX;
    for (int i = 0; i < n; i++) {
        dot_a[i] = (double)(i & 7);
        dot_b[i] = 0.5 * (double)(i & 3);
    }
    /* No -ffast-math: the f64 sum stays one serial chain, like the WAT kernel's. */
    double acc = 0.0;
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < n; i++)
            acc += dot_a[i] * dot_b[i];
    return acc;
}

__attribute__((export_name("bench_matmul"))) WASMCONC_NOINLINE double bench_matmul(int n) {
    if (n > MAT_MAX) n = MAT_MAX;
    for (int i = 0; i < n * n; i++) {
        mat_a[i] = (double)(i & 15);
        mat_b[i] = 0.25 * (double)(i & 7);
    }
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double acc = 0.0;
            for (int k = 0; k < n; k++)
                acc += mat_a[i * n + k] * mat_b[k * n + j];
            mat_c[i * n + j] = acc;
            sum += acc;
        }
    return sum;
}

static int arg(int argc, char **argv, int i) {
    return argc > i ? atoi(argv[i]) : -1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        printf("fib=%d dot=%.1f matmul=%.1f\n", bench_fib(15), bench_dot(1000, 2), bench_matmul(16));
        return 0;
    }
    const char *k = argv[1];
    if (!strcmp(k, "fib") && argc == 3 && arg(argc, argv, 2) >= 0) {
        printf("fib=%d\n", bench_fib(arg(argc, argv, 2)));
    } else if (!strcmp(k, "dot") && argc == 4 && arg(argc, argv, 2) >= 0 && arg(argc, argv, 3) >= 0) {
        printf("dot=%.1f\n", bench_dot(arg(argc, argv, 2), arg(argc, argv, 3)));
    } else if (!strcmp(k, "matmul") && argc == 3 && arg(argc, argv, 2) >= 0) {
        printf("matmul=%.1f\n", bench_matmul(arg(argc, argv, 2)));
    } else {
        fputs("usage: bench_kernels [fib N | dot N REPS | matmul N]\n", stderr);
        return 2;
    }
    return 0;
}
