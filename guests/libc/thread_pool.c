/* thread_pool: a fixed pool of W workers (argv[2], default 4) takes N jobs (argv[1],
 * default 300) from a bounded queue (16 slots) guarded by one mutex and two condition
 * variables (not_empty for the workers, not_full for main, which submits). Job i
 * computes i*i mod 1009 into its own result slot and counts how often it ran. main then
 * sets `shutting_down`, broadcasts, and joins the workers, which drain the queue first.
 * stdout: "jobs=N workers=W sum=S" (S = sum of i*i mod 1009); exit 0 iff every job ran
 * exactly once with the right result, 2 on bad arguments or a failed pthread_create. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define QUEUE_SLOTS 16

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static int queue[QUEUE_SLOTS], head, count, shutting_down;
static int *results, *runs;

static void run_job(int job) {
    results[job] = (int)(((long)job * job) % 1009);
    runs[job]++; /* each job index is taken by one worker only: no lock needed */
}

static void *worker(void *arg) {
    for (;;) {
        pthread_mutex_lock(&lock);
        while (count == 0 && !shutting_down) pthread_cond_wait(&not_empty, &lock);
        if (count == 0) { /* shutting down and drained */
            pthread_mutex_unlock(&lock);
            return arg;
        }
        int job = queue[head];
        head = (head + 1) % QUEUE_SLOTS;
        count--;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&lock);
        run_job(job);
    }
}

static void submit(int job) {
    pthread_mutex_lock(&lock);
    while (count == QUEUE_SLOTS) pthread_cond_wait(&not_full, &lock);
    queue[(head + count) % QUEUE_SLOTS] = job;
    count++;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&lock);
}

int main(int argc, char **argv) {
    int njobs = argc > 1 ? atoi(argv[1]) : 300;
    int nworkers = argc > 2 ? atoi(argv[2]) : 4;
    if (njobs < 0 || njobs > 1000000 || nworkers < 1 || nworkers > 64) {
        fputs("usage: thread_pool [N=300 (0..1000000)] [W=4 (1..64)]\n", stderr);
        return 2;
    }
    results = calloc((size_t)njobs + 1, sizeof *results);
    runs = calloc((size_t)njobs + 1, sizeof *runs);
    pthread_t workers[64];
    for (int i = 0; i < nworkers; i++) {
        if (pthread_create(&workers[i], NULL, worker, NULL) != 0) {
            fprintf(stderr, "pthread_create failed at worker %d\n", i);
            return 2;
        }
    }
    for (int job = 0; job < njobs; job++) submit(job);
    pthread_mutex_lock(&lock);
    shutting_down = 1;
    pthread_cond_broadcast(&not_empty);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < nworkers; i++) pthread_join(workers[i], NULL);
    long sum = 0;
    int bad = 0;
    for (int job = 0; job < njobs; job++) {
        sum += results[job];
        if (runs[job] != 1 || results[job] != (int)(((long)job * job) % 1009)) bad++;
    }
    printf("jobs=%d workers=%d sum=%ld\n", njobs, nworkers, sum);
    if (bad) fprintf(stderr, "%d jobs ran other than once or with a wrong result\n", bad);
    return bad ? 1 : 0;
}
