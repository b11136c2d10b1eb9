/* retry_writes: writes a 48 KiB pattern to stdout and to ./out.bin with a correct
 * retry loop (short writes are continued, EINTR and EAGAIN retried), reads the file
 * back with the same care (short reads, EINTR, EAGAIN), and checks it.  Under fault
 * injection (short I/O, EINTR, EAGAIN) the output must not change: stdout is the
 * pattern followed by "\nretry_writes: file ok\n".  The number of retries goes to
 * stderr (it is what changes).
 *
 *   retry_writes [naive]
 *
 * "naive" writes with a single write(2) per buffer and ignores what it returned: the
 * classic bug fault injection finds (output truncated under short writes).
 * Needs a writable directory preopened at ".".  Exit 0, 1 if the file read back
 * differs, 2 on a hard error. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SIZE (48 * 1024)

static char data[SIZE];
static char back[SIZE];
static long retries, short_ops;

static int write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                retries++;
                continue;
            }
            return -1;
        }
        if ((size_t)n < len) short_ops++;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static long read_all(int fd, char *buf, size_t len) {
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                retries++;
                continue;
            }
            return -1;
        }
        if (n == 0) break;
        if ((size_t)n < len - got) short_ops++;
        got += (size_t)n;
    }
    return (long)got;
}

int main(int argc, char **argv) {
    int naive = argc > 1 && strcmp(argv[1], "naive") == 0;
    for (int i = 0; i < SIZE; i++) data[i] = (i % 64 == 63) ? '\n' : (char)('a' + (i / 64) % 26);
    int fd = open("out.bin", O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0) return 2;
    for (int chunk = 0; chunk < SIZE; chunk += 4096) {
        if (naive) {
            (void)write(1, data + chunk, 4096);
            (void)write(fd, data + chunk, 4096);
        } else if (write_all(1, data + chunk, 4096) || write_all(fd, data + chunk, 4096)) {
            return 2;
        }
    }
    if (lseek(fd, 0, SEEK_SET) != 0) return 2;
    long got = read_all(fd, back, SIZE);
    close(fd);
    int ok = got == SIZE && memcmp(data, back, SIZE) == 0;
    const char *msg = ok ? "\nretry_writes: file ok\n" : "\nretry_writes: file differs\n";
    if (write_all(1, msg, strlen(msg))) return 2;
    fprintf(stderr, "retry_writes: %ld retries, %ld short transfers, file %ld bytes\n", retries, short_ops, got);
    return ok ? 0 : 1;
}
