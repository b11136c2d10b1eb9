/*
 * fault_victims.h - the "other threads" of the fault guests (c/fault_under_load.c,
 * c/host_fault_under_load.c): each victim thread gets into one state and stays there
 * while main ends the program some way.  Included by those guests only.
 *
 * Victims (one thread each, named on the command line):
 *   mutex  parked in pthread_mutex_lock on a mutex main holds forever
 *   futex  parked in a raw memory.atomic.wait32 nobody notifies
 *   sleep  in nanosleep(1 hour) (poll_oneoff), again and again
 *   stdin  in read(0) (fd_read); if stdin ever returns, parked forever
 *   write  writes STREAM to stdout, FAULT_CHUNKS chunks of FAULT_CHUNK bytes, one
 *          write(2) per chunk (short writes continued, EINTR/EAGAIN retried), then
 *          parks forever; counts as ready after FAULT_READY_CHUNKS chunks, so main
 *          ends the program in the middle of the writing
 *   file   the same into ./out.bin (O_CREAT|O_TRUNC; needs a writable preopen ".")
 *   spin   computes forever (a noinline call per iteration: preemptible)
 *
 * STREAM is records of 16 bytes, record r = "w%014u\n" % r, so any prefix of it
 * is recognisable and a torn, repeated or interleaved write is not a prefix.
 *
 * Main: fault_victims_start(argc, argv, first) spawns one thread per argv[first..],
 * locks the held mutex first, waits until every victim is ready, then sleeps
 * 10 ms so the parked ones are really parked (virtual time in fuel mode: the
 * others run meanwhile).  Exit 2 on a bad argument, 5 if out.bin cannot be
 * opened, 6 on a write error, 70 if pthread_create fails.  fault_join_forever: main
 * waits in pthread_join on the first victim, which never returns.
 */
#ifndef FAULT_VICTIMS_H
#define FAULT_VICTIMS_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

#define FAULT_CHUNK (64 * 1024)
#define FAULT_CHUNKS 256         /* 16 MiB in all */
#define FAULT_READY_CHUNKS 2
#define FAULT_MAX_VICTIMS 8

static pthread_mutex_t fault_held = PTHREAD_MUTEX_INITIALIZER;
static int fault_ready;      /* victims that reached their state (futex word) */
static int fault_never;      /* nobody ever notifies this */
static volatile unsigned fault_spins;
static char fault_chunk[2][FAULT_CHUNK];  /* [0] stdout writer, [1] file writer */
static pthread_t fault_threads[FAULT_MAX_VICTIMS];

static void fault_say(const char *msg) { write(2, msg, strlen(msg)); }

static void fault_mark_ready(void) {
    __atomic_fetch_add(&fault_ready, 1, __ATOMIC_SEQ_CST);
    __builtin_wasm_memory_atomic_notify(&fault_ready, 0xffffffffu);
}

WASMCONC_NOINLINE static void fault_park_forever(void) {
    for (;;) __builtin_wasm_memory_atomic_wait32(&fault_never, 0, -1);
}

/* Fill `buf` with records first .. first + FAULT_CHUNK / 16 - 1. */
WASMCONC_NOINLINE static void fault_fill(char *buf, unsigned first) {
    for (unsigned i = 0; i < FAULT_CHUNK / 16; i++) {
        char *rec = buf + 16 * i;
        unsigned v = first + i;
        rec[0] = 'w';
        for (int d = 14; d >= 1; d--) {
            rec[d] = (char)('0' + v % 10);
            v /= 10;
        }
        rec[15] = '\n';
    }
}

WASMCONC_NOINLINE static void fault_write_all(int fd, const char *buf, size_t len) {
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, buf + off, len - off);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            fault_say("fault_victims: write failed\n");
            __wasi_proc_exit(6);
        }
        off += (size_t)n;
    }
}

WASMCONC_NOINLINE static void fault_writer(int fd, char *buf) {
    for (unsigned k = 0; k < FAULT_CHUNKS; k++) {
        fault_fill(buf, k * (FAULT_CHUNK / 16));
        fault_write_all(fd, buf, FAULT_CHUNK);
        if (k + 1 == FAULT_READY_CHUNKS) fault_mark_ready();
    }
    fault_park_forever();
}

WASMCONC_NOINLINE static unsigned fault_spin_step(unsigned x) { return x * 1103515245u + 12345u; }

static void *fault_victim(void *arg) {
    const char *kind = arg;
    if (!strcmp(kind, "mutex")) {
        fault_mark_ready();
        pthread_mutex_lock(&fault_held);  /* main never unlocks it */
        fault_say("fault_victims: got the held mutex\n");
        __wasi_proc_exit(7);
    } else if (!strcmp(kind, "futex")) {
        fault_mark_ready();
        fault_park_forever();
    } else if (!strcmp(kind, "sleep")) {
        fault_mark_ready();
        struct timespec hour = {3600, 0};
        for (;;) nanosleep(&hour, 0);
    } else if (!strcmp(kind, "stdin")) {
        static char in[64];
        fault_mark_ready();
        while (read(0, in, sizeof in) > 0) {}
        fault_park_forever();  /* EOF or an error: the test's stdin was not silent */
    } else if (!strcmp(kind, "write")) {
        fault_writer(1, fault_chunk[0]);
    } else if (!strcmp(kind, "file")) {
        int fd = open("out.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) {
            fault_say("fault_victims: cannot open out.bin\n");
            __wasi_proc_exit(5);
        }
        fault_writer(fd, fault_chunk[1]);
    } else {  /* spin */
        fault_mark_ready();
        unsigned x = 1;
        for (;;) fault_spins = x = fault_spin_step(x);
    }
    return 0;
}

static int fault_known(const char *kind) {
    static const char *kinds[] = {"mutex", "futex", "sleep", "stdin", "write", "file", "spin"};
    for (unsigned i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(kind, kinds[i])) return 1;
    return 0;
}

/* Start the victims argv[first..argc-1]; return once all are in their state. */
static void fault_victims_start(int argc, char **argv, int first) {
    int n = argc - first;
    if (n > FAULT_MAX_VICTIMS) {
        fault_say("fault_victims: too many victims\n");
        __wasi_proc_exit(2);
    }
    int writers = 0, files = 0;
    for (int i = first; i < argc; i++) {
        if (!fault_known(argv[i])) {
            fault_say("fault_victims: unknown victim (mutex futex sleep stdin write file spin)\n");
            __wasi_proc_exit(2);
        }
        writers += !strcmp(argv[i], "write");
        files += !strcmp(argv[i], "file");
    }
    if (writers > 1 || files > 1) {
        fault_say("fault_victims: at most one write and one file victim\n");
        __wasi_proc_exit(2);
    }
    pthread_mutex_lock(&fault_held);
    for (int i = first; i < argc; i++)
        if (pthread_create(&fault_threads[i - first], 0, fault_victim, argv[i])) __wasi_proc_exit(70);
    for (;;) {
        int r = __atomic_load_n(&fault_ready, __ATOMIC_SEQ_CST);
        if (r >= n) break;
        __builtin_wasm_memory_atomic_wait32(&fault_ready, r, -1);
    }
    struct timespec settle = {0, 10 * 1000 * 1000};
    nanosleep(&settle, 0);
}

/* Main waits forever: in pthread_join on the first victim (no victim ever returns),
 * or parked on the never-notified word if there are none. */
WASMCONC_NOINLINE static void fault_join_forever(int victims) {
    if (victims > 0) pthread_join(fault_threads[0], 0);
    fault_park_forever();
}

#endif /* FAULT_VICTIMS_H */
