/* spawn_join_loop: main starts N short-lived threads (argv[1], default 1000) one after
 * another, joining each before starting the next, as a program that starts threads
 * all its life does. Only two threads are ever alive at once: a runtime must release
 * what a finished thread held (its instance, its stack) when it ends, not when the
 * program does.
 * stdout: "started and joined N threads, sum=S" (S = 0+1+...+(N-1)); exit 0 iff S is
 * right, 1 if pthread_create failed, 2 on bad arguments. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void *echo(void *arg) { return arg; }

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000;
    if (n < 1 || n > 10000000)
        return 2;
    long long sum = 0;
    for (long i = 0; i < n; i++) {
        pthread_t t;
        void *result;
        if (pthread_create(&t, NULL, echo, (void *)(intptr_t)i) != 0) {
            printf("pthread_create failed after %ld threads\n", i);
            return 1;
        }
        pthread_join(t, &result);
        sum += (intptr_t)result;
    }
    printf("started and joined %ld threads, sum=%lld\n", n, sum);
    return sum == (long long)n * (n - 1) / 2 ? 0 : 1;
}
