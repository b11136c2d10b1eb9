/* deadlock_after_io: main prints ./test.txt, locks a mutex and joins a worker that
 * prints a line and then locks the same mutex: a certain deadlock after some WASI
 * calls, so the failure report ends with the tail of the WASI call trace (the
 * worker's write last).  Needs guests/data preopened at "." (`--dir guests/data::.`).
 * Expected stdout: the file, then "worker: locking m\n"; then it never ends. */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg) {
    (void)arg;
    const char *msg = "worker: locking m\n";
    write(1, msg, strlen(msg));
    pthread_mutex_lock(&m); /* held by main, which is joining us: never returns */
    pthread_mutex_unlock(&m);
    return 0;
}

int main(void) {
    char buf[64];
    int fd = open("test.txt", O_RDONLY);
    if (fd < 0) return 2;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) write(1, buf, (size_t)n);
    close(fd);
    pthread_mutex_lock(&m);
    pthread_t t;
    if (pthread_create(&t, 0, worker, 0)) return 2;
    pthread_join(t, 0);
    pthread_mutex_unlock(&m);
    return 0;
}
