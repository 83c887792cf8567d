// What one execution may do through the proxy. Over a limit, a connection is refused (or, for
// bytes and idleness, cut) and recorded.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace microvm::proxy {

struct Limits {
    // Connections the proxy opens for the execution, over its whole run.
    uint32_t max_connections = 256;
    // Client connections open at once; each holds up to six descriptors (client, server, two
    // pipes) and two pipe buffers. Beyond, a new client connection is closed at once.
    uint32_t max_concurrent = 32;
    // Name lookups queued or running for the execution at once (a started lookup counts until
    // the resolver answers, even after its connection ended). Beyond, a connection is refused.
    // As many as max_concurrent: a lookup's slot is given back only once the loop has taken its
    // answer, so with 8 a burst of 12 connections to names answered at once had 4 refused (a
    // package manager's parallel downloads; red team, 2026-12-06). What one execution runs at
    // once is bounded by the resolver's share (ProxyOptions::resolver_share) either way.
    uint32_t max_lookups = 32;
    // Bytes relayed, both directions and all connections together.
    uint64_t max_bytes = uint64_t{4} << 30;
    // A relayed connection with no byte moving either way for this long is cut.
    std::chrono::milliseconds idle_timeout{60'000};
    // From accept to a complete request head / SOCKS5 request, and from the proxy's "connected"
    // reply to a complete TLS ClientHello: a client that trickles bytes is cut at the deadline.
    std::chrono::milliseconds handshake_timeout{10'000};
    // The request head, and the ClientHello, each at most this long.
    size_t max_header_bytes = 16 * 1024;
    // IP addresses and CIDR ranges (canonical policy entries, no port) that no connection may
    // reach whatever the execution's policy says: the host's own additions to the address
    // filter (setting network_refused_ranges), e.g. a cloud's metadata service on a public
    // address.
    std::vector<std::string> refused_ranges;
    // Records kept per execution of attempts that reached no server (refused, empty,
    // unresolvable); those of attempts that did are all kept (RecordLog).
    size_t max_records = 1024;
};

}  // namespace microvm::proxy
