/* Leaves a detached process behind (new session, double fork) and exits once it runs:
 * daemonize MARKER. The daemon re-executes itself as "daemonize MARKER daemon FD", tells the
 * helper it is up through FD, and sleeps, so a test can look for MARKER among the host's
 * processes. Prints "daemon started" only when the daemon is really there; exits 1 otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc > 3) {
        int fd = atoi(argv[3]);
        if (write(fd, "1", 1) != 1) return 1;
        close(fd);
        for (;;) sleep(60);
    }
    int up[2];
    if (pipe(up) != 0) return 1;
    if (fork() == 0) {
        setsid();
        if (fork() == 0) {
            char fd[16];
            snprintf(fd, sizeof fd, "%d", up[1]);
            char* args[] = {argv[0], argc > 1 ? argv[1] : "marker", "daemon", fd, NULL};
            close(up[0]);
            execv(argv[0], args);
            _exit(1);
        }
        _exit(0);
    }
    close(up[1]);
    char c;
    if (read(up[0], &c, 1) != 1) return 1;  /* the daemon died before it said it was up */
    printf("daemon started\n");
    return 0;
}
