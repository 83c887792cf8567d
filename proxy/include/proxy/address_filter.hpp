// The server-side request forgery guard: addresses a sandboxed program must not reach through
// the proxy whatever name led there: loopback, link-local (cloud metadata at 169.254.169.254),
// private and unique-local ranges, the other special-purpose ranges that are not the internet,
// and the host's own addresses (every address the kernel delivers locally). An IP or CIDR entry of an allow list lifts it for that range
// (see decision.hpp); nothing else does.
#pragma once

#include <optional>
#include <string>

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
    // The host's own addresses are those the kernel would deliver here, asked for each address
    // (its routing tables and rules as they are then).
    std::optional<std::string> refusal(const SocketAddress& address, bool permit_loopback);
};

}  // namespace microvm::proxy
