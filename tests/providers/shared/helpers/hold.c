/* Holds MIB megabytes (touched), sleeps SLEEP_MS, then spins until killed: hold MIB SLEEP_MS.
 * For the timeout path's measurements: its peak is at least MIB, its CPU time is well below its
 * duration (the sleep), and it never ends on its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char** argv) {
    long mib = argc > 1 ? atol(argv[1]) : 48;
    long sleep_ms = argc > 2 ? atol(argv[2]) : 300;
    for (long i = 0; i < mib; ++i) {
        char* p = malloc(1 << 20);
        if (!p) return 2;
        memset(p, 1, 1 << 20);
    }
    printf("held %ld MiB\n", mib);
    fflush(stdout);
    struct timespec ts = {sleep_ms / 1000, (sleep_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    volatile unsigned long x = 0;
    for (;;) x++;
}
