/* AF_UNIX from inside a sandbox:
 *   unix_socket connect PATH   connect to a socket file (a host's); exit 0 when connected
 *   unix_socket pair           two processes talk over socketpair(); prints "pair ok"
 *   unix_socket named DIR      a server bound at DIR/s and a client process; prints "named ok"
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char* what) {
    printf("%s failed: %s\n", what, strerror(errno));
    return 1;
}

static int address(struct sockaddr_un* a, const char* path) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a->sun_path) return -1;
    strcpy(a->sun_path, path);
    return 0;
}

static int talk(int fd, int speaker) {
    char buf[8] = {0};
    if (speaker) return write(fd, "ping", 4) == 4 ? 0 : 1;
    return read(fd, buf, sizeof buf) == 4 && memcmp(buf, "ping", 4) == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 3 && strcmp(argv[1], "connect") == 0) {
        struct sockaddr_un a;
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        if (s < 0) return fail("socket");
        if (address(&a, argv[2]) != 0 || connect(s, (struct sockaddr*)&a, sizeof a) != 0) {
            return fail("connect");
        }
        printf("connected\n");
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "pair") == 0) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return fail("socketpair");
        pid_t child = fork();
        if (child == 0) _exit(talk(sv[1], 1));
        int status = 0, heard = talk(sv[0], 0);
        waitpid(child, &status, 0);
        if (heard != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return fail("pair");
        printf("pair ok\n");
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "named") == 0) {
        char path[100];
        snprintf(path, sizeof path, "%s/s", argv[2]);
        struct sockaddr_un a;
        int server = socket(AF_UNIX, SOCK_STREAM, 0);
        if (server < 0) return fail("socket");
        if (address(&a, path) != 0 || bind(server, (struct sockaddr*)&a, sizeof a) != 0 ||
            listen(server, 1) != 0) {
            return fail("bind");
        }
        pid_t child = fork();
        if (child == 0) {
            int c = socket(AF_UNIX, SOCK_STREAM, 0);
            _exit(c >= 0 && connect(c, (struct sockaddr*)&a, sizeof a) == 0 ? talk(c, 1) : 1);
        }
        int conn = accept(server, NULL, NULL);
        int status = 0, heard = conn >= 0 ? talk(conn, 0) : 1;
        waitpid(child, &status, 0);
        if (heard != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return fail("named");
        printf("named ok\n");
        return 0;
    }
    fprintf(stderr, "usage: unix_socket connect PATH | pair | named DIR\n");
    return 2;
}
