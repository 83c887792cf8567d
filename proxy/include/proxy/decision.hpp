// The proxy's second judgement, on an address: the policy judged the name (or IP literal) the
// program asked for (NetworkPolicy::decide); each address that name resolved to is judged here,
// and only an address that passes is connected to.
#pragma once

#include "microvm/policy.hpp"
#include "proxy/address_filter.hpp"
#include "proxy/proxy.hpp"
#include "proxy/socket_address.hpp"

namespace microvm::proxy {

// In order: a range of the host's settings (Limits::refused_ranges) covering the address
// refuses it, whatever the policy says; an IP or CIDR entry of a block list covering the
// address, or the IPv4 address it carries (NAT64, 6to4, IPv4-mapped: the same host by another
// spelling), refuses it; an IP or CIDR entry of an allow list admits it (the explicit way to
// reach a private range; only the address as listed, since a 6to4 prefix stands for a whole
// network behind one IPv4 address); otherwise the address filter decides. The rule is empty
// when the address passes on no entry of its own (the name's rule stands).
NetworkDecision judge_address(const ExecutionOptions& options, AddressFilter& filter,
                              const SocketAddress& address);

}  // namespace microvm::proxy
