/* thread_file: a spawned thread opens ./test.txt (needs a preopened directory mapped
 * at ".", e.g. `--dir guests/data::.`), reads it and copies it to stdout, while the
 * main thread is blocked in pthread_join.  First file I/O happens on a non-main
 * thread (cf. wasmtime#8392: a self-deadlock in lazy preopen setup).
 * Exit 0 on success, 1 if the file cannot be opened. */
#include <stdio.h>
#include <pthread.h>

static void *reader(void *arg) {
    (void)arg;
    FILE *f = fopen("test.txt", "r");
    if (!f) {
        fputs("thread_file: cannot open test.txt\n", stderr);
        return (void *)1;
    }
    char buf[256];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stdout);
    fclose(f);
    fflush(stdout);
    return 0;
}

int main(void) {
    pthread_t t;
    void *ret = (void *)2;
    if (pthread_create(&t, 0, reader, 0)) {
        fputs("thread_file: pthread_create failed\n", stderr);
        return 2;
    }
    pthread_join(t, &ret);
    return ret ? 1 : 0;
}
