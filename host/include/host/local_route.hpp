// How the kernel routes an address, asked the way `ip route get` asks it (RTM_GETROUTE): the
// one test of "is this address delivered to this host" that also knows ranges routed `local`
// without being any interface's (AnyIP) and routes chosen by rules, which a list of the
// interfaces' addresses misses (red team, 2026-12-04). The egress proxy refuses such targets;
// microvmd counts clients from such sources as this host's.
#pragma once

#include <optional>

namespace microvm::host {

// The type (RTN_*) of the route the kernel would take to the address of this family (AF_INET:
// 4 bytes, AF_INET6: 16, network order), RTN_UNREACHABLE when there is none. When the kernel
// cannot be asked, nullopt and *error says why (EAFNOSUPPORT on a host without IPv6).
// interface: the index a scoped address (IPv6 link-local, sin6_scope_id) belongs to, 0 for
// none: fe80::1 of another host's link is no address of this host because one of this host's
// other links has it.
std::optional<int> route_type(int family, const void* address, int* error, unsigned interface = 0);

// What a route of this type says of its destination when it delivers to this host ("delivered
// to this host", "a broadcast address of this host", ...); nullptr when it does not.
const char* delivered_here(int type);

}  // namespace microvm::host
