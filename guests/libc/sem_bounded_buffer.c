/* sem_bounded_buffer: the classic semaphore bounded buffer. P producers and C consumers
 * (2 and 2) move the items 1..N (argv[1], default 400) through a ring of CAP slots
 * (argv[2], default 4): sem_wait(&free_slots) / sem_post(&filled_slots) around a mutex.
 * stdout: "items=N sum=S" with S = N(N+1)/2; exit 0 iff every item arrived exactly once
 * (count and sum), 2 on bad arguments or a failed pthread_create. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>

#define PRODUCERS 2
#define CONSUMERS 2
#define MAX_CAP 64

static sem_t free_slots, filled_slots;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long ring[MAX_CAP];
static int cap = 4, put_at, take_at;
static long nitems = 400, received;
static long long sum; /* long is 32 bits on wasm32 */

static void *produce(void *arg) {
    long first = (long)arg; /* producer p puts the items p+1, p+1+PRODUCERS, ... */
    for (long item = first; item <= nitems; item += PRODUCERS) {
        sem_wait(&free_slots);
        pthread_mutex_lock(&lock);
        ring[put_at] = item;
        put_at = (put_at + 1) % cap;
        pthread_mutex_unlock(&lock);
        sem_post(&filled_slots);
    }
    return NULL;
}

static void *consume(void *arg) {
    long share = (long)arg; /* how many items this consumer takes */
    for (long i = 0; i < share; i++) {
        sem_wait(&filled_slots);
        pthread_mutex_lock(&lock);
        long item = ring[take_at];
        take_at = (take_at + 1) % cap;
        received++;
        sum += item;
        pthread_mutex_unlock(&lock);
        sem_post(&free_slots);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) nitems = atol(argv[1]);
    if (argc > 2) cap = atoi(argv[2]);
    if (nitems < 0 || nitems > 10000000 || cap < 1 || cap > MAX_CAP) {
        fputs("usage: sem_bounded_buffer [N=400] [CAP=4 (1..64)]\n", stderr);
        return 2;
    }
    sem_init(&free_slots, 0, (unsigned)cap);
    sem_init(&filled_slots, 0, 0);
    pthread_t threads[PRODUCERS + CONSUMERS];
    for (int p = 0; p < PRODUCERS; p++)
        if (pthread_create(&threads[p], NULL, produce, (void *)(long)(p + 1)) != 0) return 2;
    for (int c = 0; c < CONSUMERS; c++) {
        long share = nitems / CONSUMERS + (c < nitems % CONSUMERS);
        if (pthread_create(&threads[PRODUCERS + c], NULL, consume, (void *)share) != 0) return 2;
    }
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++) pthread_join(threads[i], NULL);
    printf("items=%ld sum=%lld\n", received, sum);
    return received == nitems && sum == (long long)nitems * (nitems + 1) / 2 ? 0 : 1;
}
