/* A WASI program built with clang-19 and wasi-libc (as rtfs-guest.wasm will be): exercises the
 * engine's WASI through the C library. argv[1] is a read-write preopened directory. Prints one
 * line per failed check and exits with the number of failures. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int failures = 0;
#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            printf("FAILED line %d: %s (errno %d: %s)\n", __LINE__, #cond, errno,     \
                   strerror(errno));                                                  \
            ++failures;                                                               \
        }                                                                             \
    } while (0)

static void path_in(char* out, size_t n, const char* dir, const char* name) {
    snprintf(out, n, "%s/%s", dir, name);
}

int main(int argc, char** argv) {
    CHECK(argc == 2);
    if (argc != 2) return 100;
    const char* dir = argv[1];
    CHECK(strcmp(argv[0], "module.wasm") == 0);
    CHECK(getenv("GREETING") && strcmp(getenv("GREETING"), "hello") == 0);
    CHECK(getenv("PATH") == NULL);

    char file[512], sub[512], moved[512];
    path_in(file, sizeof file, dir, "f.txt");
    path_in(sub, sizeof sub, dir, "d");
    path_in(moved, sizeof moved, dir, "d/g.txt");

    FILE* f = fopen(file, "w");
    CHECK(f != NULL);
    if (f) {
        CHECK(fprintf(f, "line one\nline two\n") == 18);
        CHECK(fclose(f) == 0);
    }
    f = fopen(file, "r");
    CHECK(f != NULL);
    if (f) {
        char line[64] = {0};
        CHECK(fgets(line, sizeof line, f) && strcmp(line, "line one\n") == 0);
        CHECK(fseek(f, 0, SEEK_END) == 0 && ftell(f) == 18);
        fclose(f);
    }
    CHECK(mkdir(sub, 0755) == 0);
    CHECK(rename(file, moved) == 0);
    struct stat st;
    CHECK(stat(moved, &st) == 0 && st.st_size == 18 && S_ISREG(st.st_mode));
    DIR* d = opendir(sub);
    CHECK(d != NULL);
    if (d) {
        int seen = 0;
        struct dirent* e;
        while ((e = readdir(d))) seen += strcmp(e->d_name, "g.txt") == 0;
        CHECK(seen == 1);
        closedir(d);
    }
    /* Many entries with long names: read in several fd_readdir calls, each from the cookie of
     * the last whole entry (the engine reads the directory from that offset). */
    char many[512], name[512];
    path_in(many, sizeof many, dir, "many");
    CHECK(mkdir(many, 0755) == 0);
    for (int i = 0; i < 300; ++i) {
        snprintf(name, sizeof name, "%s/entry-with-a-long-name-to-fill-buffers-%03d", many, i);
        FILE* e = fopen(name, "w");
        CHECK(e != NULL);
        if (e) fclose(e);
    }
    d = opendir(many);
    CHECK(d != NULL);
    if (d) {
        int entries = 0, seen[300] = {0};
        struct dirent* e;
        while ((e = readdir(d))) {
            int n = -1;
            if (sscanf(e->d_name, "entry-with-a-long-name-to-fill-buffers-%d", &n) == 1 && n >= 0 && n < 300) {
                ++entries;
                ++seen[n];
            }
        }
        int each_once = 1;
        for (int i = 0; i < 300; ++i) each_once &= seen[i] == 1;
        CHECK(entries == 300 && each_once);
        rewinddir(d);
        int again = 0;
        while ((e = readdir(d))) again += strncmp(e->d_name, "entry-", 6) == 0;
        CHECK(again == 300);
        closedir(d);
    }
    for (int i = 0; i < 300; ++i) {
        snprintf(name, sizeof name, "%s/entry-with-a-long-name-to-fill-buffers-%03d", many, i);
        CHECK(unlink(name) == 0);
    }
    CHECK(rmdir(many) == 0);
    CHECK(unlink(moved) == 0);
    CHECK(rmdir(sub) == 0);
    CHECK(access(sub, F_OK) != 0 && errno == ENOENT);

    errno = 0;
    CHECK(fopen("/etc/passwd", "r") == NULL && errno == ENOTCAPABLE);
    char escape[512];
    path_in(escape, sizeof escape, dir, "../../../../etc/passwd");
    errno = 0;
    CHECK(fopen(escape, "r") == NULL);

    struct timespec a, b, nap = {0, 10 * 1000 * 1000};
    CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
    CHECK(nanosleep(&nap, NULL) == 0);
    CHECK(clock_gettime(CLOCK_MONOTONIC, &b) == 0);
    CHECK((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) >= 10 * 1000 * 1000);
    unsigned char random[32] = {0}, zero[32] = {0};
    CHECK(getentropy(random, sizeof random) == 0 && memcmp(random, zero, sizeof zero) != 0);
    volatile char* block = malloc(10 << 20);
    CHECK(block != NULL);
    if (block) block[(10 << 20) - 1] = 1;

    printf("checks done: %d failed\n", failures);
    return failures;
}
