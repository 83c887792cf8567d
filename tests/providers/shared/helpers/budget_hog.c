/* Takes as many kernel objects charged to its user as it can, then holds them:
 *   budget_hog MARKER_FILE
 * inotify instances (up to 1000), POSIX message queues (up to 100, default size) and legacy aio
 * events (fs.aio-max-nr, one budget of the whole host: up to 64 io_setup calls, halving the size
 * each is refused); prints "inotify N mqueue M aio K", creates MARKER_FILE and sleeps until it
 * is killed. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    setvbuf(stdout, NULL, _IONBF, 0);
    int inotify = 0, queues = 0;
    while (inotify < 1000 && inotify_init1(IN_CLOEXEC) >= 0) ++inotify;
    for (; queues < 100; ++queues) {
        char name[64];
        snprintf(name, sizeof name, "/budget-hog-%d", queues);
        if (mq_open(name, O_CREAT | O_RDWR, 0600, NULL) == (mqd_t)-1) break;
    }
    long aio = 0;
    for (unsigned size = 65536, calls = 0; size > 0 && calls < 64; ++calls) {
        unsigned long context = 0;
        if (syscall(SYS_io_setup, size, &context) == 0) aio += size;
        else size /= 2;
    }
    printf("inotify %d mqueue %d aio %ld\n", inotify, queues, aio);
    int marker = open(argv[1], O_CREAT | O_WRONLY, 0644);
    if (marker >= 0) close(marker);
    for (;;) pause();
}
