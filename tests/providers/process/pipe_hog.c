/* Per-user kernel budgets seen from inside a sandbox: pipe buffer pages, charged to the real uid
 * of the process on the host (fs.pipe-user-pages-soft, 64 MiB by default).
 *   pipe_hog hold MARKER RELEASE: makes pipes of 1 MiB until F_SETPIPE_SZ fails (at most 1000),
 *       prints "reserved N <why it stopped>", creates MARKER, waits (10 s at most) for RELEASE
 *       to exist, exits 0.
 *   pipe_hog probe: sizes one new pipe to 1 MiB; prints "probe <size or the error>".
 * Both then print "uid <host uid>", from /proc/self/uid_map. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void print_host_uid(void) {
    long inside = -1, outside = -1, count = -1;
    FILE* map = fopen("/proc/self/uid_map", "r");
    if (map) {
        if (fscanf(map, "%ld %ld %ld", &inside, &outside, &count) != 3) outside = -1;
        fclose(map);
    }
    printf("uid %ld\n", outside);
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 2 && strcmp(argv[1], "probe") == 0) {
        int p[2];
        if (pipe(p) != 0) return 3;
        int size = fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
        if (size < 0)
            printf("probe %s\n", strerror(errno));
        else
            printf("probe %d\n", size);
        print_host_uid();
        return 0;
    }
    if (argc != 4 || strcmp(argv[1], "hold") != 0) return 2;
    int n = 0;
    const char* why = "the cap of 1000";
    for (; n < 1000; ++n) {
        int p[2];
        if (pipe(p) != 0) {
            why = strerror(errno);
            break;
        }
        if (fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < 0) {
            why = strerror(errno);
            break;
        }
    }
    printf("reserved %d %s\n", n, why);
    print_host_uid();
    int marker = open(argv[2], O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (marker < 0) return 4;
    close(marker);
    for (int i = 0; i < 1000 && access(argv[3], F_OK) != 0; ++i) usleep(10000);
    return 0;
}
