/* Fills loopback sockets and never reads them, to hold as much socket memory as it can:
 *   socket_hog tcp|udp SOCKETS
 * tcp: connection after connection to its own listener on 127.0.0.1, each written without
 *   blocking until it takes no more; what send() took is held unread (in the sender's or the
 *   receiver's queue).
 *   Stops after SOCKETS connections, when no more can be made, or after 16 fresh ones in a
 *   row took nothing.
 * udp: more datagrams than a receiver's buffer takes to receiver after receiver on 127.0.0.1,
 *   SOCKETS of them (or as many as can be made); once all are filled, each is drained to count
 *   what it held.
 * Prints "<mode> held BYTES sockets N" and exits 0. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char buf[65536];

static struct sockaddr_in loopback(void) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

/* A fresh connection written until it takes no more; -1 when none can be made. */
static long fill_tcp_connection(int listener, const struct sockaddr_in* addr) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0) return -1;
    if (connect(c, (const struct sockaddr*)addr, sizeof *addr) < 0) return close(c), -1;
    int s = accept(listener, NULL, NULL);
    if (s < 0) return close(c), -1;
    long taken = 0;
    for (;;) {
        ssize_t n = send(c, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) break;
        taken += n;
    }
    return taken; /* both ends stay open: the data stays queued */
}

/* A fresh receiver sent more datagrams than its buffer takes; -1 when none can be made. */
static int fill_udp_receiver(int sender) {
    int r = socket(AF_INET, SOCK_DGRAM, 0);
    if (r < 0) return -1;
    struct sockaddr_in a = loopback();
    socklen_t alen = sizeof a;
    if (bind(r, (struct sockaddr*)&a, sizeof a) < 0 || getsockname(r, (struct sockaddr*)&a, &alen) < 0) {
        return close(r), -1;
    }
    for (int i = 0; i < 8; ++i) sendto(sender, buf, 60000, 0, (struct sockaddr*)&a, sizeof a);
    return r; /* open: its datagrams stay queued */
}

/* What a receiver held: it is read only now, after every receiver was filled. */
static long drain(int receiver) {
    long held = 0;
    for (;;) {
        ssize_t n = recv(receiver, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) return held;
        held += n;
    }
}

int main(int argc, char** argv) {
    if (argc != 3) return 2;
    const int tcp = strcmp(argv[1], "tcp") == 0;
    const int max_sockets = atoi(argv[2]);
    memset(buf, 'x', sizeof buf);
    int listener = -1, sender = -1;
    struct sockaddr_in addr = loopback();
    socklen_t alen = sizeof addr;
    if (tcp) {
        listener = socket(AF_INET, SOCK_STREAM, 0);
        if (listener < 0 || bind(listener, (struct sockaddr*)&addr, sizeof addr) < 0 ||
            listen(listener, 16) < 0 || getsockname(listener, (struct sockaddr*)&addr, &alen) < 0) {
            perror("listener");
            return 1;
        }
    } else {
        sender = socket(AF_INET, SOCK_DGRAM, 0);
        if (sender < 0) return perror("sender"), 1;
    }
    long held = 0;
    int sockets = 0, idle = 0;
    if (tcp) {
        while (sockets < max_sockets && idle < 16) {
            long taken = fill_tcp_connection(listener, &addr);
            if (taken < 0) break;
            ++sockets;
            held += taken;
            idle = taken > 0 ? 0 : idle + 1;
        }
    } else {
        static int receivers[65536];
        while (sockets < max_sockets && sockets < 65536) {
            int r = fill_udp_receiver(sender);
            if (r < 0) break;
            receivers[sockets++] = r;
        }
        for (int i = 0; i < sockets; ++i) held += drain(receivers[i]);
    }
    printf("%s held %ld sockets %d\n", argv[1], held, sockets);
    return 0;
}
