/* host_locked: two threads update one plain int between host.enter() and host.leave(), user
 * imports a test binds to the acquire and release of one host lock (pytest_wasmconc.host.Lock):
 * the host lock is all that orders the updates. MODE (argv[1]):
 *   locked    (default) each update inside host.enter() / host.leave(): no data race
 *   unlocked  the same updates without the calls: a data race
 * Each thread waits after its update until main has created both (as in racy.c), so libc's
 * own thread-list lock cannot order the updates instead.
 * Not runnable under the CLI: the test provides the imports (tests/checks/races).
 * stdout: "counter=3"; exit 0 (2 on bad arguments). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

__attribute__((import_module("host"), import_name("enter"))) void host_enter(void);
__attribute__((import_module("host"), import_name("leave"))) void host_leave(void);

static int counter, locked;
static atomic_int both_created;

static void *update(int k) {
    if (locked) host_enter();
    counter += k;
    if (locked) host_leave();
    while (!atomic_load(&both_created)) sched_yield();
    return NULL;
}

__attribute__((noinline)) static void *add_one(void *arg) { (void)arg; return update(1); }
__attribute__((noinline)) static void *add_two(void *arg) { (void)arg; return update(2); }

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "locked";
    if (strcmp(mode, "locked") && strcmp(mode, "unlocked")) {
        fputs("usage: host_locked [locked|unlocked]\n", stderr);
        return 2;
    }
    locked = !strcmp(mode, "locked");
    pthread_t a, b;
    pthread_create(&a, NULL, add_one, NULL);
    pthread_create(&b, NULL, add_two, NULL);
    atomic_store(&both_created, 1);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("counter=%d\n", counter);
    return 0;
}
