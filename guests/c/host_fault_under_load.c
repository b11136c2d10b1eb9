/* host_fault_under_load: main calls the user host function host.fault(x) (from the
 * noinline host_fault_here, so a backtrace names it) while every other thread is in
 * some state (the victims of support/fault_victims.h).  The test decides what
 * host.fault does: block forever, raise, return.
 *
 *   host_fault_under_load [VICTIM...]       imports host.fault(i32) -> i32
 *
 * If host.fault returns R, main prints "host.fault returned R\n" on stderr, then exits
 * with R if R >= 0, or waits forever in pthread_join on the first victim if R < 0.  VICTIM: mutex futex sleep stdin write file spin. */
#include <stdio.h>
#include "fault_victims.h"

__attribute__((import_module("host"), import_name("fault"))) int host_fault(int x);

WASMCONC_NOINLINE int host_fault_here(int x) { return host_fault(x); }

int main(int argc, char **argv) {
    fault_victims_start(argc, argv, 1);
    int r = host_fault_here(argc - 1);
    char msg[64];
    snprintf(msg, sizeof msg, "host.fault returned %d\n", r);
    fault_say(msg);
    if (r < 0) fault_join_forever(argc - 1);
    __wasi_proc_exit(r);
}
