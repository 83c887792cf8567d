// Network interfaces set up by ioctl in a namespace of the sandbox's or a guest's: an interface
// up, its IPv4 address or mask, a route, a TCP listener handed to the host. Async-signal-safe (no
// allocation; errno is the failing call's): the process provider and QEMU's egress link call
// them in a child between clone and exec. Addresses are in host byte order.
#pragma once

#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "host/fd_passing.hpp"

namespace microvm::host {

// Closes fd keeping errno (the caller reports the failure that came before).
inline void close_keeping_errno(int fd) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
}

inline void name_interface(ifreq& ifr, const char* name) {
    std::memset(&ifr, 0, sizeof ifr);
    std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
}

// sock: any AF_INET socket of the namespace.
inline bool set_interface_up(int sock, const char* name) {
    ifreq ifr;
    name_interface(ifr, name);
    if (::ioctl(sock, SIOCGIFFLAGS, &ifr) != 0) return false;
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    return ::ioctl(sock, SIOCSIFFLAGS, &ifr) == 0;
}

// request: SIOCSIFADDR or SIOCSIFNETMASK.
inline bool set_interface_ipv4(int sock, const char* name, unsigned long request, uint32_t address) {
    ifreq ifr;
    name_interface(ifr, name);
    auto* sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(address);
    return ::ioctl(sock, request, &ifr) == 0;
}

// A route to destination/mask, through gateway unless it is 0, on device unless it is null.
inline bool add_ipv4_route(int sock, const char* device, uint32_t destination, uint32_t mask, uint32_t gateway) {
    rtentry route;
    std::memset(&route, 0, sizeof route);
    auto* dst = reinterpret_cast<sockaddr_in*>(&route.rt_dst);
    auto* gw = reinterpret_cast<sockaddr_in*>(&route.rt_gateway);
    auto* genmask = reinterpret_cast<sockaddr_in*>(&route.rt_genmask);
    dst->sin_family = gw->sin_family = genmask->sin_family = AF_INET;
    dst->sin_addr.s_addr = htonl(destination);
    genmask->sin_addr.s_addr = htonl(mask);
    gw->sin_addr.s_addr = htonl(gateway);
    route.rt_flags = RTF_UP | (mask == 0xFFFFFFFFu ? RTF_HOST : 0) | (gateway ? RTF_GATEWAY : 0);
    char name[IFNAMSIZ];
    if (device) {
        std::strncpy(name, device, IFNAMSIZ - 1);
        name[IFNAMSIZ - 1] = '\0';
        route.rt_dev = name;
    }
    return ::ioctl(sock, SIOCADDRT, &route) == 0;
}

// A TCP listener on address:port, sent to the host over to_host (a Unix socket) and closed here.
inline bool send_tcp_listener(int to_host, uint32_t address, uint16_t port) {
    const int sock = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return false;
    sockaddr_in addr;
    std::memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(address);
    const bool ok = ::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(sock, 128) == 0 &&
                    send_fd(to_host, sock);
    close_keeping_errno(sock);
    return ok;
}

}  // namespace microvm::host
