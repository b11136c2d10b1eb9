/* worker_exit: a worker thread calls proc_exit(99) while the main thread is blocked
 * forever in pthread_join on it.  wasi-threads: proc_exit from any thread ends the
 * whole program.  Prints "worker: proc_exit(99)"; exit code 99. */
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>
#include <pthread.h>

static void *worker(void *arg) {
    (void)arg;
    static const char msg[] = "worker: proc_exit(99)\n";
    write(1, msg, sizeof msg - 1);
    __wasi_proc_exit(99);
}

int main(void) {
    pthread_t t;
    if (pthread_create(&t, 0, worker, 0)) return 2;
    pthread_join(t, 0);  /* never returns: the worker never finishes */
    return 3;
}
