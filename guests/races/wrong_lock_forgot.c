/* wrong_lock_forgot: one path forgets the lock that guards a shared counter.
 *
 * Bug: a pool of worker threads takes jobs from a shared cursor (properly, under
 * `queue_lock`) and records each finished job in `stats.done`, which `stats_lock` guards:
 * the normal path (line 39) holds it, but the cache-hit fast path (line 34, every fifth
 * job) updates `stats.done` without taking it. A fast-path increment is a plain load,
 * add and store with no call or loop between them; when another worker's increment
 * (line 39 or 34) stores between them, a finished job goes uncounted.
 * Arguments: [WORKERS=16 (1..99)] [JOBS=160 (0..1000000)].
 * Result: stdout "jobs=J done=D"; exit 1 exactly when a job went uncounted (D != J),
 * 0 otherwise, 2 on bad arguments.
 * Fixed twin (wrong_lock_forgot_fixed.c): the fast path takes `stats_lock` too. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct stats { int done, slow, checksum; };

pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
struct stats stats; /* guarded by stats_lock ... on all but one path */
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
            stats.done++;   /* RACE(B): the bug, stats_lock not held */
            continue;
        }
        int result = job * job % 97;
        pthread_mutex_lock(&stats_lock);
        stats.done++;       /* RACE(A): under stats_lock */
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
        fputs("usage: wrong_lock_forgot [WORKERS=16 (1..99)] [JOBS=160 (0..1000000)]\n", stderr);
        return 2;
    }
    pthread_t t[99];
    for (int i = 0; i < workers; i++)
        if (pthread_create(&t[i], NULL, worker, NULL) != 0) return 2;
    for (int i = 0; i < workers; i++) pthread_join(t[i], NULL);
    printf("jobs=%d done=%d\n", jobs, stats.done);
    return stats.done != jobs;
}
