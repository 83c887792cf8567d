#include "qemu/egress_link.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/route.h>
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

// Writes value to a sysctl file of the caller's network namespace (/proc/sys/net resolves to it).
bool write_sysctl(const char* path, const char* value) {
    const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const size_t length = std::strlen(value);
    const bool ok = ::write(fd, value, length) == static_cast<ssize_t>(length);
    ::close(fd);
    return ok;
}

// The namespace's settings, written before the tap exists so that it inherits the defaults: a
// new namespace copies nothing but the kernel's built-in values here, yet those could change,
// and the guest must not get what a host was tuned for (forwarding, route_localnet).
//   - no IPv6 (the guest could otherwise fill the kernel's neighbour table, which every
//     namespace shares, with solicitations from endless link-local sources);
//   - strict reverse-path filtering, with the one route back to the guest below: an ARP
//     request from any other sender address is dropped before it makes a neighbour entry;
//   - no forwarding, no routing of 127/8 from outside.
bool harden_namespace() {
    static constexpr const char* kSettings[][2] = {
        {"/proc/sys/net/ipv6/conf/all/disable_ipv6", "1"},
        {"/proc/sys/net/ipv6/conf/default/disable_ipv6", "1"},
        {"/proc/sys/net/ipv4/conf/all/rp_filter", "1"},
        {"/proc/sys/net/ipv4/conf/default/rp_filter", "1"},
        {"/proc/sys/net/ipv4/conf/all/forwarding", "0"},
        {"/proc/sys/net/ipv4/conf/default/forwarding", "0"},
        {"/proc/sys/net/ipv4/conf/all/route_localnet", "0"},
        {"/proc/sys/net/ipv4/conf/default/route_localnet", "0"},
        {"/proc/sys/net/ipv4/conf/all/arp_accept", "0"},
        {"/proc/sys/net/ipv4/conf/default/arp_accept", "0"},
    };
    for (const auto& [path, value] : kSettings) {
        if (!write_sysctl(path, value)) return false;
    }
    return true;
}

// The one route: the guest's address, as a host route on the tap.
bool route_to_guest(int sock) {
    rtentry route;
    std::memset(&route, 0, sizeof route);
    auto* dst = reinterpret_cast<sockaddr_in*>(&route.rt_dst);
    auto* mask = reinterpret_cast<sockaddr_in*>(&route.rt_genmask);
    dst->sin_family = AF_INET;
    dst->sin_addr.s_addr = htonl(kEgressGuestIp);
    mask->sin_family = AF_INET;
    mask->sin_addr.s_addr = htonl(0xFFFFFFFFu);
    route.rt_flags = RTF_UP | RTF_HOST;
    char name[IFNAMSIZ];
    std::strncpy(name, kEgressTapName, IFNAMSIZ - 1);
    name[IFNAMSIZ - 1] = '\0';
    route.rt_dev = name;
    return ::ioctl(sock, SIOCADDRT, &route) == 0;
}

// Closes fd keeping errno (the caller reports the failure that came before).
void close_keeping_errno(int fd) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
}

}  // namespace

int set_up_egress_link(int to_host, uint16_t port, const char** step) noexcept {
    *step = "setting the namespace's network sysctls";
    if (!harden_namespace()) return -1;
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
        !set_ipv4(sock, kEgressTapName, SIOCSIFNETMASK, 0xFFFFFFFFu) ||
        !set_up(sock, kEgressTapName) || !route_to_guest(sock)) {
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
