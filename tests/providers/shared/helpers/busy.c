/* Spins on the CPU for MS milliseconds of wall time: busy MS */
#include <stdlib.h>
#include <time.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char** argv) {
    double until = now_ms() + (argc > 1 ? atof(argv[1]) : 1000);
    volatile unsigned long x = 0;
    while (now_ms() < until) {
        for (int i = 0; i < 10000; ++i) x += i;
    }
    return 0;
}
