#include "proxy/decision.hpp"

namespace microvm::proxy {
namespace {

// The entry of list covering address or, for an IPv6 address that merely carries an IPv4 one
// (decision.hpp), that IPv4 address.
std::optional<std::string> covering_entry(const NetworkPolicy& list, const SocketAddress& address) {
    if (auto entry = list.address_entry(address.ip(), address.port())) return entry;
    if (auto v4 = embedded_ipv4(address)) return list.address_entry(v4->ip(), v4->port());
    return std::nullopt;
}

}  // namespace

NetworkDecision judge_address(const ExecutionOptions& options, AddressFilter& filter,
                              const SocketAddress& address) {
    if (!options.limits.refused_ranges.empty()) {
        const NetworkPolicy refused = NetworkPolicy::deny(options.limits.refused_ranges);
        if (auto entry = covering_entry(refused, address)) {
            return {false, "address " + address.ip() + " is in " + *entry +
                               ", refused by the host's settings (network_refused_ranges)"};
        }
    }
    const NetworkPolicy& policy = options.policy;
    if (policy.kind == NetworkPolicy::Kind::DenyList) {
        if (auto entry = covering_entry(policy, address)) {
            return {false, "block entry " + *entry + " (address " + address.ip() + ")"};
        }
    } else if (auto entry = policy.address_entry(address.ip(), address.port())) {
        return {true, "allow entry " + *entry};
    }
    if (auto why = filter.refusal(address, options.permit_loopback_targets)) return {false, "address " + *why};
    return {true, ""};
}

}  // namespace microvm::proxy
