/* trap_after_io: some file I/O (open, read and print ./test.txt, a failed open of
 * ./missing.txt), then a trap (`unreachable` in the noinline function crash_here).
 * The failure report should end with the tail of the WASI call trace, which shows
 * this I/O.  Needs guests/data preopened at "." (`--dir guests/data::.`).
 * Single-threaded.  Expected stdout: the file, then "missing.txt: errno 44\n";
 * then a trap. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

WASMCONC_NOINLINE static void crash_here(int why) {
    if (why) __builtin_trap();
}

int main(void) {
    char buf[64];
    int fd = open("test.txt", O_RDONLY);
    if (fd >= 0) {
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) write(1, buf, (size_t)n);
        close(fd);
    }
    if (open("missing.txt", O_RDONLY) < 0) {
        char line[32];
        int len = snprintf(line, sizeof line, "missing.txt: errno %d\n", errno);
        write(1, line, (size_t)len);
    }
    crash_here(fd >= 0);
    return 0;
}
