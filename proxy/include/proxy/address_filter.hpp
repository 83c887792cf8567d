// The server-side request forgery guard: addresses a sandboxed program must not reach through
// the proxy whatever name led there: loopback, link-local (cloud metadata at 169.254.169.254),
// private and unique-local ranges, the other special-purpose ranges that are not the internet,
// and the host's own addresses (every address the kernel delivers locally). An IP or CIDR entry of an allow list lifts it for that range
// (see decision.hpp); nothing else does.
#pragma once

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "proxy/socket_address.hpp"

namespace microvm::proxy {

// The IPv4 address an IPv6 address stands for when it merely carries one: IPv4-mapped
// (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::/48, the 6to4 router's
// address). The guard judges that address; a block list's IP entries match it too.
std::optional<SocketAddress> embedded_ipv4(const SocketAddress& address);

class AddressFilter {
  public:
    // Why address must not be a target ("127.0.0.1 is loopback (127.0.0.0/8)"), or nullopt.
    // permit_loopback lifts the guard for 127.0.0.0/8 and ::1 only: for tests, whose servers
    // listen on 127.0.0.1 (ExecutionOptions::permit_loopback_targets).
    std::optional<std::string> refusal(const SocketAddress& address, bool permit_loopback);

  private:
    // A range the kernel delivers to this host (its local routing table).
    struct LocalRange {
        int family = 0;
        std::array<unsigned char, 16> prefix{};
        int prefix_bits = 0;
        std::string text;  // for the refusal: "10.0.0.5/32, a local route"
        bool holds(const SocketAddress& address) const;
    };
    // The host's own addresses and local ranges, re-read at most once a second: interfaces and
    // routes come and go. False when they cannot be listed: then no address can be judged, and
    // none passes.
    bool read_host_addresses();

    std::vector<LocalRange> host_addresses_;
    std::chrono::steady_clock::time_point read_at_{};
    bool known_ = false;
};

}  // namespace microvm::proxy
