#include "process/net.hpp"

#include "host/fd_passing.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>

namespace microvm::process {

bool bring_up_loopback(ChildFailure& f) {
    int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return failed(f, ChildStep::kLoopback);
    struct ifreq ifr;
    std::memset(&ifr, 0, sizeof ifr);
    std::memcpy(ifr.ifr_name, "lo", 3);
    bool ok = ::ioctl(sock, SIOCGIFFLAGS, &ifr) == 0;
    if (ok) {
        ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
        ok = ::ioctl(sock, SIOCSIFFLAGS, &ifr) == 0;
    }
    int saved = errno;
    ::close(sock);
    errno = saved;
    return ok || failed(f, ChildStep::kLoopback);
}

bool hand_over_egress_listener(int to_host, uint16_t port, ChildFailure& f) {
    int sock = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return failed(f, ChildStep::kEgressListener);
    struct sockaddr_in addr;
    std::memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
              ::listen(sock, 128) == 0;
    ok = ok && host::send_fd(to_host, sock);
    int saved = errno;
    ::close(sock);
    errno = saved;
    return ok || failed(f, ChildStep::kEgressListener);
}

}  // namespace microvm::process
