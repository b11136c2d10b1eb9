/* wrong_lock_forgot_fixed: wrong_lock_forgot.c with the lock taken on every path.
 *
 * Same program as wrong_lock_forgot.c (a pool of workers counts finished jobs in
 * `stats.done`); the change: the cache-hit fast path (line 31) takes `stats_lock`
 * around its increment like the normal path (line 37) does.
 * Arguments: [WORKERS=16 (1..99)] [JOBS=160 (0..1000000)].
 * Result: stdout "jobs=J done=D" with D == J, exit 0 (1 would mean an uncounted job),
 * 2 on bad arguments. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct stats { int done, slow, checksum; };

pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
struct stats stats; /* guarded by stats_lock on every path */
int next_job, jobs;

static int take_job(void) {
    pthread_mutex_lock(&queue_lock);
    int job = next_job < jobs ? next_job++ : -1;
    pthread_mutex_unlock(&queue_lock);
    return job;
}

static void *worker(void *arg) {
    for (int job; (job = take_job()) >= 0;) {
        if (job % 5 == 0) { /* cache hit: the answer is known, nothing to compute */
            pthread_mutex_lock(&stats_lock);
            stats.done++;   /* FIXED(B): under stats_lock too */
            pthread_mutex_unlock(&stats_lock);
            continue;
        }
        int result = job * job % 97;
        pthread_mutex_lock(&stats_lock);
        stats.done++;       /* FIXED(A) */
        stats.slow++;
        stats.checksum += result;
        pthread_mutex_unlock(&stats_lock);
    }
    return arg;
}

int main(int argc, char **argv) {
    int workers = argc > 1 ? atoi(argv[1]) : 16;
    jobs = argc > 2 ? atoi(argv[2]) : 160;
    if (workers < 1 || workers > 99 || jobs < 0 || jobs > 1000000) {
        fputs("usage: wrong_lock_forgot_fixed [WORKERS=16 (1..99)] [JOBS=160 (0..1000000)]\n", stderr);
        return 2;
    }
    pthread_t t[99];
    for (int i = 0; i < workers; i++)
        if (pthread_create(&t[i], NULL, worker, NULL) != 0) return 2;
    for (int i = 0; i < workers; i++) pthread_join(t[i], NULL);
    printf("jobs=%d done=%d\n", jobs, stats.done);
    return stats.done != jobs;
}
