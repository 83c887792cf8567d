/* Allocates and touches MiB megabytes, one MiB at a time: alloc MIB */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
    long mib = argc > 1 ? atol(argv[1]) : 256;
    for (long i = 0; i < mib; ++i) {
        char* p = malloc(1 << 20);
        if (!p) {
            printf("malloc failed after %ld MiB\n", i);
            return 2;
        }
        memset(p, 1, 1 << 20);
    }
    printf("allocated %ld MiB\n", mib);
    return 0;
}
