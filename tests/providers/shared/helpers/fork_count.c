/* Forks up to N sleeping children, reports how many it got and why it stopped: fork_count N */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
    int wanted = argc > 1 ? atoi(argv[1]) : 1000;
    pid_t* children = calloc((size_t)wanted + 1, sizeof(pid_t));
    int made = 0, err = 0;
    for (; made < wanted; ++made) {
        pid_t pid = fork();
        if (pid < 0) {
            err = errno;
            break;
        }
        if (pid == 0) {
            pause();
            _exit(0);
        }
        children[made] = pid;
    }
    printf("forked %d %s\n", made, err ? strerror(err) : "ok");
    for (int i = 0; i < made; ++i) kill(children[i], SIGKILL);
    for (int i = 0; i < made; ++i) waitpid(children[i], NULL, 0);
    return 0;
}
