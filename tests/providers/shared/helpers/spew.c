/* Writes BYTES bytes to stdout and to stderr, interleaved: spew BYTES */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
    long total = argc > 1 ? atol(argv[1]) : 1 << 20;
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    for (long done = 0; done < total; done += (long)sizeof buf) {
        size_t n = total - done < (long)sizeof buf ? (size_t)(total - done) : sizeof buf;
        if (write(1, buf, n) < 0 || write(2, buf, n) < 0) return 1;
    }
    return 0;
}
