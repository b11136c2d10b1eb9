/* clock_random: prints what the clocks and the random source give a guest, in a fixed
 * format (one value per line, "name[i]=value"):
 *   realtime[0..2]   clock_gettime(CLOCK_REALTIME), seconds.nanoseconds
 *   monotonic[0..2]  clock_gettime(CLOCK_MONOTONIC), nanoseconds
 *   res              clock_getres(CLOCK_MONOTONIC), nanoseconds
 *   random[0..1]     getentropy(16 bytes), hex
 *   time             time(NULL) > 2020-01-01 (yes/no)
 *   monotonic_nondecreasing / random_differ  yes/no
 * Under the deterministic scheduler (fuel mode) the values depend only on the seed.
 * Single-threaded.  Exit 0 (1 if a call fails). */
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    struct timespec ts;
    long long mono[3];
    for (int i = 0; i < 3; i++) {
        if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 1;
        printf("realtime[%d]=%lld.%09ld\n", i, (long long)ts.tv_sec, ts.tv_nsec);
    }
    for (int i = 0; i < 3; i++) {
        if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 1;
        mono[i] = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
        printf("monotonic[%d]=%lld\n", i, mono[i]);
    }
    if (clock_getres(CLOCK_MONOTONIC, &ts) != 0) return 1;
    printf("res=%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    unsigned char r[2][16];
    for (int i = 0; i < 2; i++) {
        if (getentropy(r[i], sizeof r[i]) != 0) return 1;
        printf("random[%d]=", i);
        for (size_t k = 0; k < sizeof r[i]; k++) printf("%02x", r[i][k]);
        printf("\n");
    }
    printf("time=%s\n", time(NULL) > 1577836800 ? "yes" : "no");
    printf("monotonic_nondecreasing=%s\n", mono[0] <= mono[1] && mono[1] <= mono[2] ? "yes" : "no");
    int differ = 0;
    for (size_t k = 0; k < sizeof r[0]; k++) differ |= r[0][k] != r[1][k];
    printf("random_differ=%s\n", differ ? "yes" : "no");
    return 0;
}
