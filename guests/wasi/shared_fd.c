/* shared_fd: the main thread opens ./test.txt with open(2) and hands the bare fd
 * number to a pthread worker, which read(2)s the file through it and copies it to
 * stdout with write(2).  Main joins, then checks through the same fd that the worker
 * moved its offset (fds and their offsets are shared by all threads of a process).
 * Needs guests/data preopened at "." (`--dir guests/data::.`).
 *
 * Expected: "hello from test.txt\nsecond line\nmain: worker read 32 bytes, offset 32\n",
 * exit 0.  Exit 1 if the worker's read fails (wasmtime's own WASI gives each thread
 * its own fd table: there the worker gets EBADF), 2 if open or pthread_create fails. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static long worker_total;
static int worker_errno;

static void *reader(void *arg) {
    int fd = (int)(long)arg;
    char buf[16]; /* smaller than the file: several reads through the shared fd */
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            worker_errno = errno;
            return (void *)1;
        }
        if (n == 0) return 0;
        write(1, buf, (size_t)n);
        worker_total += n;
    }
}

int main(void) {
    int fd = open("test.txt", O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "shared_fd: open test.txt: errno %d\n", errno);
        return 2;
    }
    pthread_t t;
    void *ret = (void *)2;
    if (pthread_create(&t, 0, reader, (void *)(long)fd)) {
        fputs("shared_fd: pthread_create failed\n", stderr);
        return 2;
    }
    pthread_join(t, &ret);
    if (ret) {
        fprintf(stderr, "shared_fd: the worker could not read fd %d: errno %d\n", fd, worker_errno);
        return 1;
    }
    off_t offset = lseek(fd, 0, SEEK_CUR);
    close(fd);
    printf("main: worker read %ld bytes, offset %lld\n", worker_total, (long long)offset);
    return 0;
}
