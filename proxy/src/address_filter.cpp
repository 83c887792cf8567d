#include "proxy/address_filter.hpp"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include <algorithm>
#include <cstring>
#include <map>

#include "host/unique_fd.hpp"
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
        return std::nullopt;
    }
    const std::string ip = address.ip();
    if (permit_loopback && is_loopback(address)) return std::nullopt;
    if (auto range = special_range_matcher().address_entry(ip, address.port())) {
        return ip + " is " + special_ranges().at(*range) + " (" + *range + ")";
    }
    if (!read_host_addresses()) return "this host's own addresses cannot be listed to judge " + ip;
    for (const LocalRange& local : host_addresses_) {
        if (local.holds(address)) return ip + " is delivered to this host (" + local.text + ")";
    }
    return std::nullopt;
}

bool AddressFilter::LocalRange::holds(const SocketAddress& address) const {
    const unsigned char* bytes = nullptr;
    if (address.family() == AF_INET && family == AF_INET) {
        bytes = reinterpret_cast<const unsigned char*>(&reinterpret_cast<const sockaddr_in*>(address.get())->sin_addr);
    } else if (address.family() == AF_INET6 && family == AF_INET6) {
        bytes = reinterpret_cast<const sockaddr_in6*>(address.get())->sin6_addr.s6_addr;
    } else {
        return false;
    }
    const int whole = prefix_bits / 8, rest = prefix_bits % 8;
    if (std::memcmp(bytes, prefix.data(), static_cast<size_t>(whole)) != 0) return false;
    if (rest == 0) return true;
    const unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
    return (bytes[whole] & mask) == (prefix[static_cast<size_t>(whole)] & mask);
}

// What the kernel delivers to this host rather than routes away: its `local` routing table
// (every interface address, 127.0.0.0/8, and ranges routed `local` without being any
// interface's: AnyIP, which a list of the interfaces' addresses missed, red team 2026-12-04),
// with its broadcast and anycast entries.
bool AddressFilter::read_host_addresses() {
    const auto now = std::chrono::steady_clock::now();
    if (known_ && now - read_at_ < std::chrono::seconds(1)) return true;
    host::UniqueFd nl(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!nl.valid()) return known_ = false;
    struct {
        nlmsghdr header;
        rtmsg route;
    } request{};
    request.header.nlmsg_len = sizeof request;
    request.header.nlmsg_type = RTM_GETROUTE;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    request.header.nlmsg_seq = 1;
    request.route.rtm_family = AF_UNSPEC;
    request.route.rtm_table = RT_TABLE_LOCAL;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(nl.get(), &request, sizeof request, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
        return known_ = false;
    }
    std::vector<LocalRange> ranges;
    std::vector<char> buffer(64 * 1024);
    for (;;) {
        const ssize_t n = ::recv(nl.get(), buffer.data(), buffer.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return known_ = false;
        size_t left = static_cast<size_t>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buffer.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_type == NLMSG_DONE) {
                host_addresses_ = std::move(ranges);
                read_at_ = now;
                return known_ = true;
            }
            if (h->nlmsg_type == NLMSG_ERROR) return known_ = false;
            if (h->nlmsg_type != RTM_NEWROUTE) continue;
            const auto* route = static_cast<const rtmsg*>(NLMSG_DATA(h));
            if (route->rtm_type != RTN_LOCAL && route->rtm_type != RTN_BROADCAST && route->rtm_type != RTN_ANYCAST) continue;
            if (route->rtm_family != AF_INET && route->rtm_family != AF_INET6) continue;
            int table = route->rtm_table;
            const void* destination = nullptr;
            size_t destination_size = 0;
            int attributes_left = static_cast<int>(RTM_PAYLOAD(h));
            for (auto* a = RTM_RTA(route); RTA_OK(a, attributes_left); a = RTA_NEXT(a, attributes_left)) {
                if (a->rta_type == RTA_TABLE && RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
                    table = static_cast<int>(*static_cast<const uint32_t*>(RTA_DATA(a)));
                } else if (a->rta_type == RTA_DST) {
                    destination = RTA_DATA(a);
                    destination_size = RTA_PAYLOAD(a);
                }
            }
            const size_t size = route->rtm_family == AF_INET ? 4 : 16;
            if (table != RT_TABLE_LOCAL || !destination || destination_size != size) continue;
            LocalRange range;
            range.family = route->rtm_family;
            range.prefix_bits = std::min<int>(route->rtm_dst_len, static_cast<int>(size * 8));
            std::memcpy(range.prefix.data(), destination, size);
            char text[INET6_ADDRSTRLEN] = {};
            ::inet_ntop(range.family, destination, text, sizeof text);
            range.text = std::string(text) + "/" + std::to_string(range.prefix_bits) + ", a local route";
            ranges.push_back(std::move(range));
        }
    }
}

}  // namespace microvm::proxy
