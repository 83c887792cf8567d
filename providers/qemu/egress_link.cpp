#include "qemu/egress_link.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "host/fd_passing.hpp"

namespace microvm::qemu {
namespace {

void name_interface(ifreq& ifr, const char* name) {
    std::memset(&ifr, 0, sizeof ifr);
    std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
}

bool set_up(int sock, const char* name) {
    ifreq ifr;
    name_interface(ifr, name);
    if (::ioctl(sock, SIOCGIFFLAGS, &ifr) != 0) return false;
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    return ::ioctl(sock, SIOCSIFFLAGS, &ifr) == 0;
}

bool set_ipv4(int sock, const char* name, unsigned long request, uint32_t host_order) {
    ifreq ifr;
    name_interface(ifr, name);
    auto* sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(host_order);
    return ::ioctl(sock, request, &ifr) == 0;
}

// Closes fd keeping errno (the caller reports the failure that came before).
void close_keeping_errno(int fd) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
}

}  // namespace

int set_up_egress_link(int to_host, uint16_t port, const char** step) noexcept {
    *step = "socket";
    const int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return -1;
    *step = "bringing up lo";
    if (!set_up(sock, "lo")) return close_keeping_errno(sock), -1;
    *step = "opening /dev/net/tun";
    const int tap = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (tap < 0) return close_keeping_errno(sock), -1;
    auto give_up = [&] {
        close_keeping_errno(tap);
        close_keeping_errno(sock);
        return -1;
    };
    *step = "creating the tap device";
    ifreq ifr;
    name_interface(ifr, kEgressTapName);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (::ioctl(tap, TUNSETIFF, &ifr) != 0) return give_up();
    *step = "configuring the tap device";
    if (!set_ipv4(sock, kEgressTapName, SIOCSIFADDR, kEgressGatewayIp) ||
        !set_ipv4(sock, kEgressTapName, SIOCSIFNETMASK, kEgressNetmask) ||
        !set_up(sock, kEgressTapName)) {
        return give_up();
    }
    *step = "binding the egress listener";
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener < 0) return give_up();
    sockaddr_in addr;
    std::memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(kEgressGatewayIp);
    bool ok = ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
              ::listen(listener, 128) == 0;
    if (ok) {
        *step = "sending the egress listener";
        ok = host::send_fd(to_host, listener);
    }
    close_keeping_errno(listener);
    close_keeping_errno(sock);
    if (!ok) {
        close_keeping_errno(tap);
        return -1;
    }
    return tap;
}

}  // namespace microvm::qemu
