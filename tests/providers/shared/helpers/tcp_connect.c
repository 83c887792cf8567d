/* Connects to 127.0.0.1:PORT; exit 0 when connected: tcp_connect PORT */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(argc > 1 ? argv[1] : "0"));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr*)&addr, sizeof addr) != 0) {
        printf("connect failed: %s\n", strerror(errno));
        return 1;
    }
    printf("connected\n");
    return 0;
}
