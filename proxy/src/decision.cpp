#include "proxy/decision.hpp"

namespace microvm::proxy {

NetworkDecision judge_address(const NetworkPolicy& policy, AddressFilter& filter,
                              const SocketAddress& address, bool permit_loopback) {
    if (auto entry = policy.address_entry(address.ip(), address.port())) {
        if (policy.kind == NetworkPolicy::Kind::DenyList) {
            return {false, "block entry " + *entry + " (address " + address.ip() + ")"};
        }
        return {true, "allow entry " + *entry};
    }
    if (auto why = filter.refusal(address, permit_loopback)) return {false, "address " + *why};
    return {true, ""};
}

}  // namespace microvm::proxy
