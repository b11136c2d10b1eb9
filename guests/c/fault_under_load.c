/* fault_under_load: main ends the program with a fault while every other thread is
 * in some state (the victims of support/fault_victims.h: parked on a mutex or a raw
 * futex, sleeping, reading a silent stdin, in the middle of writing a large stream
 * to stdout or ./out.bin, computing).
 *
 *   fault_under_load [worker-]FAULT [VICTIM...]
 *
 * FAULT, done by main once every victim is in its state (with "worker-": by one more
 * thread, started then, while main waits for it in pthread_join):
 *   trap  `unreachable` in the noinline fault_trap_here: the program ends with a trap
 *   exit  proc_exit(42)
 *   oom   malloc(1 MiB) until it returns NULL (libc's sbrk: memory.grow fails near the
 *         64 MiB maximum), then memory.grow(1) until it fails, checks the memory is
 *         then exactly 1024 pages and that main's mutex and the ready count are
 *         intact, prints "oom: malloc NULL after N MiB, grow -1\n" on stderr,
 *         proc_exit(3) (4 if the memory is not at its maximum or was clobbered)
 *   none  no fault: main waits forever in pthread_join on the first victim (a control:
 *         the test ends it)
 * VICTIM: mutex futex sleep stdin write file spin (see support/fault_victims.h).
 *
 * stdout is only the `write` victim's stream; main prints only on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include "fault_victims.h"

WASMCONC_NOINLINE void fault_trap_here(void) { __builtin_trap(); }

static void *volatile fault_blocks;  /* the allocations, chained: clang may not drop them */

WASMCONC_NOINLINE int fault_exhaust_memory(void) {
    int mib = 0;
    for (;;) {
        void **block = malloc(1024 * 1024);
        if (!block) break;
        *block = fault_blocks;
        fault_blocks = block;
        mib++;
    }
    /* malloc asks for 1 MiB and more at once: a few pages may be left below the max */
    while (__builtin_wasm_memory_grow(0, 1) != (size_t)-1) {}
    if (__builtin_wasm_memory_size(0) != 1024) return -1;  /* the 64 MiB maximum */
    return mib;
}

static const char *fault;
static int victims;

/* What main (or the faulting worker) does once every victim is in its state. */
WASMCONC_NOINLINE static void fault_now(void) {
    if (!strcmp(fault, "trap")) fault_trap_here();
    if (!strcmp(fault, "exit")) __wasi_proc_exit(42);
    if (!strcmp(fault, "oom")) {
        int mib = fault_exhaust_memory();
        /* main's mutex is still locked and the ready count intact: the failed
         * growth clobbered nothing */
        int intact = mib >= 0 && pthread_mutex_trylock(&fault_held) != 0 && fault_ready == victims;
        char msg[80];
        snprintf(msg, sizeof msg, "oom: malloc NULL after %d MiB, grow -1\n", mib);
        fault_say(msg);
        __wasi_proc_exit(intact ? 3 : 4);
    }
}

static void *fault_worker(void *arg) {
    (void)arg;
    fault_now();
    return 0;
}

int main(int argc, char **argv) {
    fault = argc > 1 ? argv[1] : "";
    int in_worker = !strncmp(fault, "worker-", 7);
    if (in_worker) fault += 7;
    if (strcmp(fault, "trap") && strcmp(fault, "exit") && strcmp(fault, "oom") && strcmp(fault, "none")) {
        fault_say("usage: fault_under_load [worker-]trap|exit|oom|none [VICTIM...]\n");
        return 2;
    }
    victims = argc - 2;
    fault_victims_start(argc, argv, 2);
    if (in_worker) {
        pthread_t t;
        if (pthread_create(&t, 0, fault_worker, 0)) __wasi_proc_exit(70);
        pthread_join(t, 0);  /* returns only for "none" */
    } else {
        fault_now();
    }
    fault_join_forever(victims);
}
