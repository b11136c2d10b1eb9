/* racy: two threads touch one plain int with no synchronization at all (a data race in
 * every schedule where both accesses run). MODE (argv[1]):
 *   counter  add_one and add_two each do `counter += k` (a read and a write, lost update)
 *   flag     set_flag writes `ready = 1`, check_flag reads it (write/read)
 *   bytes    two threads write neighbouring bytes of one word (NOT a race: disjoint bytes),
 *            then one writes the whole word (a race with both byte writes)
 * Each thread waits, after its access, until main has created both: otherwise the first could
 * exit before the second starts, and libc's own thread-list lock (taken at exit and at
 * create) would order the two accesses in that schedule, hiding the race.
 * stdout: "counter=V" / "flag=F" / "bytes=B"; exit 0. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sched.h>
#include <string.h>

static int counter;
static int ready;
static union { unsigned word; unsigned char b[4]; } cell;
static atomic_int both_created;

static void *wait_both(void *arg) {
    while (!atomic_load(&both_created)) sched_yield();
    return arg;
}

__attribute__((noinline)) static void *add_one(void *arg) { counter += 1; return wait_both(arg); }
__attribute__((noinline)) static void *add_two(void *arg) { counter += 2; return wait_both(arg); }
__attribute__((noinline)) static void *set_flag(void *arg) { ready = 1; return wait_both(arg); }
__attribute__((noinline)) static void *check_flag(void *arg) { return wait_both(ready ? arg : NULL); }
__attribute__((noinline)) static void *write_byte0(void *arg) { cell.b[0] = 1; return wait_both(arg); }
__attribute__((noinline)) static void *write_byte1(void *arg) { cell.b[1] = 2; return wait_both(arg); }
__attribute__((noinline)) static void *write_word(void *arg) { cell.word = 7; return arg; }

static void two(void *(*a)(void *), void *(*b)(void *)) {
    pthread_t ta, tb;
    atomic_store(&both_created, 0);
    pthread_create(&ta, NULL, a, NULL);
    pthread_create(&tb, NULL, b, NULL);
    atomic_store(&both_created, 1);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "counter";
    if (!strcmp(mode, "counter")) {
        two(add_one, add_two);
        printf("counter=%d\n", counter);
    } else if (!strcmp(mode, "flag")) {
        two(set_flag, check_flag);
        printf("flag=%d\n", ready);
    } else if (!strcmp(mode, "bytes")) {
        two(write_byte0, write_byte1);
        pthread_t t;
        pthread_create(&t, NULL, write_word, NULL);
        cell.b[0] = 3; /* races with write_word, not with write_byte0 (joined) */
        pthread_join(t, NULL);
        printf("bytes=%u\n", cell.word);
    } else {
        fprintf(stderr, "usage: racy [counter|flag|bytes]\n");
        return 2;
    }
    return 0;
}
