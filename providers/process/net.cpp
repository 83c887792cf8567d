#include "process/net.hpp"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
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

}  // namespace microvm::process
