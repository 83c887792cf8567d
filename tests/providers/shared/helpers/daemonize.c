/* Leaves a detached process behind (new session, double fork) and exits at once:
 * daemonize MARKER. The daemon re-executes itself as "daemonize MARKER daemon" and sleeps, so a
 * test can look for MARKER among the host's processes. */
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc > 2) {
        for (;;) sleep(60);
    }
    if (fork() == 0) {
        setsid();
        if (fork() == 0) {
            char* args[] = {argv[0], argc > 1 ? argv[1] : "marker", "daemon", NULL};
            execv(argv[0], args);
            _exit(1);
        }
        _exit(0);
    }
    return 0;
}
