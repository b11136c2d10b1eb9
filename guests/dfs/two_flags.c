/* two_flags: a bug that needs exactly two preemptions (the bounded search's guest, issue 18).
 *
 * Each thread raises its own flag, reads the other's, and lowers its own again:
 *   main:  x = 1; ay = y; x = 0;        other: y = 1; bx = x; y = 0;
 * Both reads see 1 only when each thread is preempted inside its window while the other
 * is inside its own: main after x = 1 (before it reads y) while `other` raises y and reads
 * x, then `other` after its read (before y = 0) while main reads y. With one preemption the
 * preempted thread resumes only after the other one has run to its end (main can only
 * block in pthread_join after its window), and that one lowered its flag on the way.
 * The flags are plain `volatile int`: plain loads and stores, each a visible operation at
 * the default level. Result: exit 1 with "both saw the other's flag" when ay == bx == 1,
 * else 0 with "ay=A bx=B". */
#include <pthread.h>
#include <stdio.h>

volatile int x, y, ay, bx;

static void *other(void *arg) {
    (void)arg;
    y = 1;
    bx = x;
    y = 0;
    return NULL;
}

int main(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, other, NULL) != 0)
        return 3;
    x = 1;
    ay = y;
    x = 0;
    pthread_join(t, NULL);
    if (ay == 1 && bx == 1) {
        puts("both saw the other's flag");
        return 1;
    }
    printf("ay=%d bx=%d\n", ay, bx);
    return 0;
}
