/* sem_timedwait: two timed waits on semaphores (deadlines on CLOCK_REALTIME).
 *  1. main waits on `never` (value 0, nobody posts) with a deadline 50 ms ahead while a
 *     worker is blocked in sem_wait(&go): sem_timedwait must fail with ETIMEDOUT, not
 *     before the deadline; sem_trywait on it must fail with EAGAIN.
 *  2. main posts `go`; the worker wakes, sleeps 10 ms (usleep) and posts `done`; main's
 *     sem_timedwait(&done) with a deadline 10 s ahead must succeed (return 0).
 * stdout: "sem_timedwait: timeout=ETIMEDOUT trywait=EAGAIN posted=0"; exit 0 iff all
 * three are as shown, 1 otherwise (stdout shows what happened). */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static sem_t never, go, done;

static void *post_when_told(void *arg) {
    sem_wait(&go);
    usleep(10000);
    sem_post(&done);
    return arg;
}

static struct timespec ms_from_now(long ms) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000; /* long is 32 bits on wasm32: no ms * 1000000 */
    t.tv_nsec += ms % 1000 * 1000000L;
    t.tv_sec += t.tv_nsec / 1000000000L;
    t.tv_nsec %= 1000000000L;
    return t;
}

static int before(struct timespec a, struct timespec b) {
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

static const char *errname(int rc, int err) {
    if (rc == 0) return "0";
    if (err == ETIMEDOUT) return "ETIMEDOUT";
    if (err == EAGAIN) return "EAGAIN";
    return strerror(err);
}

int main(void) {
    sem_init(&never, 0, 0);
    sem_init(&go, 0, 0);
    sem_init(&done, 0, 0);
    pthread_t worker;
    if (pthread_create(&worker, NULL, post_when_told, NULL) != 0) {
        fputs("pthread_create failed\n", stderr);
        return 2;
    }
    struct timespec deadline = ms_from_now(50), now;
    int rc = sem_timedwait(&never, &deadline);
    const char *timeout_name = errname(rc, errno);
    clock_gettime(CLOCK_REALTIME, &now);
    int early = rc != 0 && before(now, deadline);
    rc = sem_trywait(&never);
    const char *try_name = errname(rc, errno);
    sem_post(&go);
    deadline = ms_from_now(10000);
    rc = sem_timedwait(&done, &deadline);
    const char *posted_name = errname(rc, errno);
    pthread_join(worker, NULL);
    printf("sem_timedwait: timeout=%s trywait=%s posted=%s\n", timeout_name, try_name, posted_name);
    if (early) fputs("the first sem_timedwait ended before its deadline\n", stderr);
    int ok = !early && strcmp(timeout_name, "ETIMEDOUT") == 0 && strcmp(try_name, "EAGAIN") == 0 &&
             strcmp(posted_name, "0") == 0;
    return ok ? 0 : 1;
}
