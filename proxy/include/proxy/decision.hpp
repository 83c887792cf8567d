// The proxy's second judgement, on an address: the policy judged the name (or IP literal) the
// program asked for (NetworkPolicy::decide); each address that name resolved to is judged here,
// and only an address that passes is connected to.
#pragma once

#include "microvm/policy.hpp"
#include "proxy/address_filter.hpp"
#include "proxy/socket_address.hpp"

namespace microvm::proxy {

// In order: an IP or CIDR entry of a block list covering the address refuses it; one of an
// allow list admits it (the explicit way to reach a private range); otherwise the address
// filter decides. The rule is empty when the address passes on no entry of its own (the name's
// rule stands).
NetworkDecision judge_address(const NetworkPolicy& policy, AddressFilter& filter,
                              const SocketAddress& address, bool permit_loopback);

}  // namespace microvm::proxy
