#include "proxy/address_filter.hpp"
#include "host/sys_error.hpp"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include <algorithm>
#include <cstring>
#include <map>

#include "host/local_route.hpp"
#include "microvm/policy.hpp"

namespace microvm::proxy {
namespace {

// Special-purpose ranges (IANA registries) that are not the public internet, and what they are.
const std::map<std::string, std::string>& special_ranges() {
    static const std::map<std::string, std::string> ranges = {
        {"0.0.0.0/8", "'this network' (0.0.0.0 reaches the host itself)"},
        {"10.0.0.0/8", "private"},
        {"100.64.0.0/10", "shared address space (carrier-grade NAT)"},
        {"127.0.0.0/8", "loopback"},
        {"169.254.0.0/16", "link-local (cloud metadata endpoints)"},
        {"172.16.0.0/12", "private"},
        {"192.0.0.0/24", "IETF protocol assignments"},
        {"192.0.2.0/24", "documentation"},
        {"192.88.99.0/24", "deprecated 6to4 relay anycast"},
        {"192.168.0.0/16", "private"},
        {"198.18.0.0/15", "benchmarking"},
        {"198.51.100.0/24", "documentation"},
        {"203.0.113.0/24", "documentation"},
        {"224.0.0.0/4", "multicast"},
        {"240.0.0.0/4", "reserved (and broadcast)"},
        {"168.63.129.16/32", "cloud metadata (Azure's WireServer, on a public address)"},
        {"[::]/96", "unspecified, loopback or IPv4-compatible"},
        {"[::ffff:0:0:0]/96", "IPv4-translated (SIIT)"},
        {"[64:ff9b:1::]/48", "local-use NAT64"},
        {"[100::]/64", "discard-only"},
        {"[2001::]/32", "Teredo"},
        {"[2001:2::]/48", "benchmarking"},
        {"[2001:10::]/28", "ORCHID (deprecated)"},
        {"[2001:20::]/28", "ORCHIDv2 (overlay identifiers, not routed)"},
        {"[2001:db8::]/32", "documentation"},
        {"[3fff::]/20", "documentation"},
        {"[5f00::]/16", "segment routing (SRv6) identifiers"},
        {"[fc00::]/7", "unique-local"},
        {"[fe80::]/10", "link-local"},
        {"[fec0::]/10", "site-local"},
        {"[ff00::]/8", "multicast"},
    };
    return ranges;
}

// The ranges as a block list, so that the policy's one address matcher judges them too.
const NetworkPolicy& special_range_matcher() {
    static const NetworkPolicy matcher = [] {
        NetworkPolicy p;
        p.kind = NetworkPolicy::Kind::DenyList;
        for (const auto& [range, what] : special_ranges()) p.hosts.push_back(range);
        return p;
    }();
    return matcher;
}


bool is_loopback(const SocketAddress& address) {
    if (address.family() == AF_INET) {
        return (ntohl(reinterpret_cast<const sockaddr_in*>(address.get())->sin_addr.s_addr) >> 24) == 127;
    }
    return address.family() == AF_INET6 &&
           IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6*>(address.get())->sin6_addr);
}

}  // namespace

std::optional<SocketAddress> embedded_ipv4(const SocketAddress& address) {
    if (address.family() != AF_INET6) return std::nullopt;
    const unsigned char* b = reinterpret_cast<const sockaddr_in6*>(address.get())->sin6_addr.s6_addr;
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static constexpr unsigned char kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    const unsigned char* v4 = nullptr;
    if (std::memcmp(b, kMapped, 12) == 0 || std::memcmp(b, kNat64, 12) == 0) v4 = b + 12;
    if (b[0] == 0x20 && b[1] == 0x02) v4 = b + 2;
    if (!v4) return std::nullopt;
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(address.port());
    std::memcpy(&in.sin_addr, v4, 4);
    return SocketAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&in), sizeof in);
}

std::optional<std::string> AddressFilter::refusal(const SocketAddress& address, bool permit_loopback) {
    if (auto v4 = embedded_ipv4(address)) {
        if (auto why = refusal(*v4, permit_loopback)) return address.ip() + " carries " + *why;
        // Only a mapped address (::ffff:a.b.c.d) is sent as IPv4. A 6to4 or NAT64 one goes out
        // as itself, and the host may hold it: it is judged as an IPv6 address too (red team,
        // 2026-12-07: the host's own 6to4 address reached its servers).
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address.get());
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) return std::nullopt;
    }
    const std::string ip = address.ip();
    if (permit_loopback && is_loopback(address)) return std::nullopt;
    if (auto range = special_range_matcher().address_entry(ip, address.port())) {
        return ip + " is " + special_ranges().at(*range) + " (" + *range + ")";
    }
    const bool v4 = address.family() == AF_INET;
    const void* bytes = v4 ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(address.get())->sin_addr)
                           : static_cast<const void*>(reinterpret_cast<const sockaddr_in6*>(address.get())->sin6_addr.s6_addr);
    int error = 0;
    const std::optional<int> route = host::route_type(address.family(), bytes, &error);
    if (!route) {
        return "how this host routes " + ip + " cannot be asked (" + host::errno_text(error) + "), so it cannot be judged";
    }
    if (const char* delivered = host::delivered_here(*route)) return ip + " is " + delivered + " (a local route)";
    return std::nullopt;
}

}  // namespace microvm::proxy
