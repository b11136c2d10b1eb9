/* producer_consumer: one producer and one consumer move the items 1..N (argv[1],
 * default 100) through a bounded buffer of CAP (argv[2], default 4, max 64) slots
 * guarded by one mutex and two condition variables (not_full, not_empty).
 * Prints "sum=S"; exit 0 iff S == N(N+1)/2 (5050 for N=100). */
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>

#define MAX_CAP 64

static int buffer[MAX_CAP];
static int cap = 4, count, head, tail;
static int items = 100;
static long long sum;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;

static void *producer(void *arg) {
    (void)arg;
    for (int i = 1; i <= items; i++) {
        pthread_mutex_lock(&lock);
        while (count == cap)
            pthread_cond_wait(&not_full, &lock);
        buffer[tail] = i;
        tail = (tail + 1) % cap;
        count++;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&lock);
    }
    return 0;
}

static void *consumer(void *arg) {
    (void)arg;
    for (int i = 0; i < items; i++) {
        pthread_mutex_lock(&lock);
        while (count == 0)
            pthread_cond_wait(&not_empty, &lock);
        int v = buffer[head];
        head = (head + 1) % cap;
        count--;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&lock);
        sum += v;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1) items = atoi(argv[1]);
    if (argc > 2) cap = atoi(argv[2]);
    if (items < 0 || cap < 1 || cap > MAX_CAP) {
        fputs("usage: producer_consumer [N] [CAP 1..64]\n", stderr);
        return 2;
    }
    pthread_t p, c;
    if (pthread_create(&p, 0, producer, 0) || pthread_create(&c, 0, consumer, 0)) {
        fputs("producer_consumer: pthread_create failed\n", stderr);
        return 2;
    }
    pthread_join(p, 0);
    pthread_join(c, 0);
    printf("sum=%lld\n", sum);
    return sum == (long long)items * (items + 1) / 2 ? 0 : 1;
}
