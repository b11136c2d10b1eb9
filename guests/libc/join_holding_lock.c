/* join_holding_lock: a certain deadlock with real libc primitives. main locks a mutex,
 * starts a worker that prints a line and then locks the same mutex, and joins it while
 * still holding the mutex: main waits for the worker, the worker for main's mutex.
 * stdout: "worker: locking the mutex main holds"; never ends (a deadlock in every
 * schedule: both threads blocked, nothing can wake them). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void *lock_the_mutex(void *arg) {
    static const char msg[] = "worker: locking the mutex main holds\n";
    write(1, msg, strlen(msg));
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    return arg;
}

int main(void) {
    pthread_mutex_lock(&m);
    pthread_t worker;
    if (pthread_create(&worker, NULL, lock_the_mutex, NULL) != 0) {
        fputs("pthread_create failed\n", stderr);
        return 2;
    }
    pthread_join(worker, NULL);
    pthread_mutex_unlock(&m);
    puts("joined: no deadlock");
    return 1;
}
