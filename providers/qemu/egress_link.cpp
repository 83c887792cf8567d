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

#include "host/interface_ioctl.hpp"

namespace microvm::qemu {
namespace {

using host::close_keeping_errno;

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
bool route_to_guest(int sock) { return host::add_ipv4_route(sock, kEgressTapName, kEgressGuestIp, 0xFFFFFFFFu, 0); }

}  // namespace

int set_up_egress_link(int to_host, uint16_t port, const char** step) noexcept {
    *step = "setting the namespace's network sysctls";
    if (!harden_namespace()) return -1;
    *step = "socket";
    const int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return -1;
    *step = "bringing up lo";
    if (!host::set_interface_up(sock, "lo")) return close_keeping_errno(sock), -1;
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
    host::name_interface(ifr, kEgressTapName);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (::ioctl(tap, TUNSETIFF, &ifr) != 0) return give_up();
    *step = "configuring the tap device";
    if (!host::set_interface_ipv4(sock, kEgressTapName, SIOCSIFADDR, kEgressGatewayIp) ||
        !host::set_interface_ipv4(sock, kEgressTapName, SIOCSIFNETMASK, 0xFFFFFFFFu) ||
        !host::set_interface_up(sock, kEgressTapName) || !route_to_guest(sock)) {
        return give_up();
    }
    *step = "binding and sending the egress listener";
    const bool ok = host::send_tcp_listener(to_host, kEgressGatewayIp, port);
    close_keeping_errno(sock);
    if (!ok) {
        close_keeping_errno(tap);
        return -1;
    }
    return tap;
}

}  // namespace microvm::qemu
