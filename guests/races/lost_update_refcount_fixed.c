/* lost_update_refcount_fixed: lost_update_refcount.c with an atomic reference count.
 *
 * Same program as lost_update_refcount.c (readers take and drop references to shared
 * buffers); the change: `refs` is a C11 `atomic_int`, taken with
 * `atomic_fetch_add(&b->refs, 1)` (line 28) and dropped with `atomic_fetch_sub(&b->refs,
 * 1)` (line 32), so no change of a count can be lost.
 * Arguments: [READERS=3 (1..64)] [ROUNDS=20 (1..1000000)].
 * Result: stdout "buffers=4 refs=4 leaked_or_freed=0", exit 0 (1 would mean a count went
 * wrong), 2 on bad arguments. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUFFERS 4

struct buffer {
    atomic_int refs;
    int len;
    char data[56];
};

struct buffer buffers[BUFFERS];
int rounds;

static void buffer_get(struct buffer *b) {
    atomic_fetch_add(&b->refs, 1); /* FIXED(A) */
}

static void buffer_put(struct buffer *b) {
    atomic_fetch_sub(&b->refs, 1); /* FIXED(B) */
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
        fputs("usage: lost_update_refcount_fixed [READERS=3 (1..64)] [ROUNDS=20 (1..1000000)]\n", stderr);
        return 2;
    }
    for (int i = 0; i < BUFFERS; i++) {
        atomic_init(&buffers[i].refs, 1); /* the owner's reference */
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
        int held = atomic_load(&buffers[i].refs);
        refs += held;
        wrong += held != 1;
    }
    printf("buffers=%d refs=%d leaked_or_freed=%d\n", BUFFERS, refs, wrong);
    return wrong > 0;
}
