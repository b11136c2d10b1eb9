/* kernels: the compute kernels of the race check's benchmark (benchmarks/race_check.py) and of
 * the shared level's rows of benchmarks/bench.py, on T threads over shared arrays: each thread
 * takes a slice, writes its partial result into its own slot, and main sums the slots after
 * joining (correct: no data race).
 *   kernels dot N REPS T      sum of a[i]*b[i], i < N (N <= 100000), REPS times
 *   kernels matmul N T        C = A*B for N x N doubles (N <= 256), then the sum of C
 *                             (T = 0: main runs the whole kernel itself, no thread is made)
 *   (no arguments)            a small run of both on 2 threads
 * stdout: "dot=V" / "matmul=V"; exit 0 (2 on bad arguments).
 * Exports kernels_dot(N, REPS) and kernels_matmul(N): the whole kernel on the calling thread,
 * the same slice functions as T = 0, for a plain wasmtime-py call (benchmarks/shared_level.py:
 * the instance needs the shared memory and a WASI linker; nothing calls thread-spawn). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOT_MAX 100000
#define MAT_MAX 256
#define THREADS_MAX 16

static double dot_a[DOT_MAX], dot_b[DOT_MAX];
static double mat_a[MAT_MAX * MAT_MAX], mat_b[MAT_MAX * MAT_MAX], mat_c[MAT_MAX * MAT_MAX];
static double partial[THREADS_MAX];
static int n_, reps_, threads_;

/* noinline: every path (threads, T = 0, the exports) runs this one compiled loop */
__attribute__((noinline)) static void *dot_slice(void *arg) {
    int t = (int)(long)arg, lo = n_ * t / threads_, hi = n_ * (t + 1) / threads_;
    double acc = 0.0;
    for (int r = 0; r < reps_; r++)
        for (int i = lo; i < hi; i++) acc += dot_a[i] * dot_b[i];
    partial[t] = acc;
    return NULL;
}

__attribute__((noinline)) static void *matmul_slice(void *arg) {
    int t = (int)(long)arg, lo = n_ * t / threads_, hi = n_ * (t + 1) / threads_, n = n_;
    double sum = 0.0;
    for (int i = lo; i < hi; i++)
        for (int j = 0; j < n; j++) {
            double acc = 0.0;
            for (int k = 0; k < n; k++) acc += mat_a[i * n + k] * mat_b[k * n + j];
            mat_c[i * n + j] = acc;
            sum += acc;
        }
    partial[t] = sum;
    return NULL;
}

static double run(void *(*slice)(void *)) {
    if (threads_ == 0) { /* main alone: the slice of "thread 0 of 1" is the whole kernel */
        threads_ = 1;
        slice(0);
        threads_ = 0;
        return partial[0];
    }
    pthread_t th[THREADS_MAX];
    for (int t = 0; t < threads_; t++) pthread_create(&th[t], NULL, slice, (void *)(long)t);
    double sum = 0.0;
    for (int t = 0; t < threads_; t++) {
        pthread_join(th[t], NULL);
        sum += partial[t];
    }
    return sum;
}

static void fill_dot(void) {
    for (int i = 0; i < n_; i++) {
        dot_a[i] = (double)(i & 7);
        dot_b[i] = 0.5 * (double)(i & 3);
    }
}

static void fill_matmul(void) {
    for (int i = 0; i < n_ * n_; i++) {
        mat_a[i] = (double)(i & 15);
        mat_b[i] = 0.25 * (double)(i & 7);
    }
}

__attribute__((export_name("kernels_dot"))) double kernels_dot(int n, int reps) {
    n_ = n < 1 ? 1 : n > DOT_MAX ? DOT_MAX : n;
    reps_ = reps < 1 ? 1 : reps;
    threads_ = 0;
    fill_dot();
    return run(dot_slice);
}

__attribute__((export_name("kernels_matmul"))) double kernels_matmul(int n) {
    n_ = n < 1 ? 1 : n > MAT_MAX ? MAT_MAX : n;
    threads_ = 0;
    fill_matmul();
    return run(matmul_slice);
}

static int usage(void) {
    fputs("usage: kernels [dot N REPS T | matmul N T]\n", stderr);
    return 2;
}

int main(int argc, char **argv) {
    const char *kernel = argc > 1 ? argv[1] : "both";
    int both = !strcmp(kernel, "both");
    if (both || !strcmp(kernel, "dot")) {
        n_ = both ? 1000 : argc > 2 ? atoi(argv[2]) : 0;
        reps_ = both ? 2 : argc > 3 ? atoi(argv[3]) : 0;
        threads_ = both ? 2 : argc > 4 ? atoi(argv[4]) : -1;
        if (n_ < 1 || n_ > DOT_MAX || reps_ < 1 || threads_ < 0 || threads_ > THREADS_MAX) return usage();
        fill_dot();
        printf("dot=%.1f\n", run(dot_slice));
    }
    if (both || !strcmp(kernel, "matmul")) {
        n_ = both ? 16 : argc > 2 ? atoi(argv[2]) : 0;
        threads_ = both ? 2 : argc > 3 ? atoi(argv[3]) : -1;
        if (n_ < 1 || n_ > MAT_MAX || threads_ < 0 || threads_ > THREADS_MAX) return usage();
        fill_matmul();
        printf("matmul=%.1f\n", run(matmul_slice));
    }
    if (!both && strcmp(kernel, "dot") && strcmp(kernel, "matmul")) return usage();
    return 0;
}
