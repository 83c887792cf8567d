#include "peer_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <optional>

#include "host/local_route.hpp"

namespace microvm::service {

namespace {

// A TCP end's address as the family it really is: an IPv4-mapped address (a dual-stack
// listener's IPv4 client) as IPv4, so that every test below sees one form.
struct IpAddress {
    int family = AF_UNSPEC;
    unsigned char bytes[16] = {};  // 4 of them for AF_INET, network order
    unsigned scope = 0;            // a link-local IPv6 address's interface (sin6_scope_id)
};

IpAddress ip_address(const sockaddr_storage& ss) {
    IpAddress ip;
    if (ss.ss_family == AF_INET) {
        ip.family = AF_INET;
        std::memcpy(ip.bytes, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, 4);
    } else if (ss.ss_family == AF_INET6) {
        const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr;
        const bool mapped = IN6_IS_ADDR_V4MAPPED(&a);
        ip.scope = mapped ? 0 : reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_scope_id;
        ip.family = mapped ? AF_INET : AF_INET6;
        std::memcpy(ip.bytes, mapped ? a.s6_addr + 12 : a.s6_addr, mapped ? 4 : 16);
    }
    return ip;
}

bool is_loopback(const IpAddress& ip) {
    if (ip.family == AF_INET) return ip.bytes[0] == 127;
    return ip.family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(reinterpret_cast<const in6_addr*>(ip.bytes));
}

// Whether a TCP client connects from this host: to or from a loopback address, or from any
// address the kernel delivers here (a local user may bind any of them as its source: the
// interfaces' own, and every address of a range routed `local`), however a dual-stack listener
// spells it. A link-local address is judged on the link it came by: a router's fe80::1 is not
// this host's because one of this host's other links has fe80::1 too (a review, 2026-12-05).
bool from_this_host(int fd, const IpAddress& remote) {
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    if (is_loopback(remote) ||
        (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0 && is_loopback(ip_address(local))))
        return true;
    if (remote.family != AF_INET && remote.family != AF_INET6) return false;
    int error = 0;
    const std::optional<int> route = host::route_type(remote.family, remote.bytes, &error, remote.scope);
    return route && host::delivered_here(*route) != nullptr;
}

}  // namespace

std::string peer_address(int fd, const sockaddr_storage& ss) {
    const IpAddress ip = ip_address(ss);
    if (from_this_host(fd, ip)) return "ip:this-host";
    char text[INET6_ADDRSTRLEN] = "";
    if (ip.family == AF_INET) {
        ::inet_ntop(AF_INET, ip.bytes, text, sizeof text);
        return std::string("ip:") + text;
    }
    if (ip.family != AF_INET6) return "ip:?";
    unsigned char prefix[16] = {};
    std::memcpy(prefix, ip.bytes, 8);
    ::inet_ntop(AF_INET6, prefix, text, sizeof text);
    return std::string("ip:") + text + "/64";
}

}  // namespace microvm::service
