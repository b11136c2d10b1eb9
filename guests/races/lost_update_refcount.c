/* lost_update_refcount: lost update in a struct field, a plain reference count.
 *
 * Bug: shared buffers carry a plain `int refs` field. Reader threads take a reference
 * (buffer_get, `b->refs++`, line 32), copy the data out, and drop it (buffer_put,
 * `b->refs--`, line 36), with no lock. Each is a load, an add and a store of the field
 * with no call or loop between the load and the store; when another reader's line 32
 * or 36 on the same buffer stores in between, one change is lost and the count ends
 * wrong (a buffer freed while in use, or never freed).
 * Arguments: [READERS=3 (1..64)] [ROUNDS=20 (1..1000000)].
 * Result: stdout "buffers=4 refs=R leaked_or_freed=W"; exit 1 exactly when a count went
 * wrong (a buffer's refs is not back at the owner's 1; W counts them), 0 otherwise, 2 on
 * bad arguments.
 * Fixed twin (lost_update_refcount_fixed.c): `refs` is a C11 `atomic_int` changed with
 * `atomic_fetch_add` / `atomic_fetch_sub`. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUFFERS 4

struct buffer {
    int refs; /* shared and plain: the bug */
    int len;
    char data[56];
};

struct buffer buffers[BUFFERS];
int rounds;

static void buffer_get(struct buffer *b) {
    b->refs++; /* RACE(A) */
}

static void buffer_put(struct buffer *b) {
    b->refs--; /* RACE(B) */
}

struct reader { int id, copied; char *out; /* the reader's own output, on the heap */ };

static void *reader(void *arg) {
    struct reader *me = arg;
    for (int r = 0; r < rounds; r++) {
        struct buffer *b = &buffers[(me->id + r) % BUFFERS];
        buffer_get(b);
        memcpy(me->out + me->copied, b->data, (size_t)b->len); /* the data is only valid while held */
        me->copied += b->len;
        buffer_put(b);
    }
    return arg;
}

int main(int argc, char **argv) {
    int readers = argc > 1 ? atoi(argv[1]) : 3;
    rounds = argc > 2 ? atoi(argv[2]) : 20;
    if (readers < 1 || readers > 64 || rounds < 1 || rounds > 1000000) {
        fputs("usage: lost_update_refcount [READERS=3 (1..64)] [ROUNDS=20 (1..1000000)]\n", stderr);
        return 2;
    }
    for (int i = 0; i < BUFFERS; i++) {
        buffers[i].refs = 1; /* the owner's reference */
        buffers[i].len = snprintf(buffers[i].data, sizeof buffers[i].data, "buffer %d", i);
    }
    pthread_t t[64];
    struct reader r[64];
    for (int i = 0; i < readers; i++) {
        r[i] = (struct reader){.id = i, .copied = 0, .out = malloc((size_t)rounds * sizeof buffers[0].data)};
        if (r[i].out == NULL || pthread_create(&t[i], NULL, reader, &r[i]) != 0) return 2;
    }
    for (int i = 0; i < readers; i++) pthread_join(t[i], NULL);
    int wrong = 0, refs = 0;
    for (int i = 0; i < BUFFERS; i++) {
        refs += buffers[i].refs;
        wrong += buffers[i].refs != 1;
    }
    printf("buffers=%d refs=%d leaked_or_freed=%d\n", BUFFERS, refs, wrong);
    return wrong > 0;
}
