#include "service/client_quotas.hpp"

namespace microvm::service {

void ClientQuotas::Hold::release() noexcept {
    const std::shared_ptr<State> state = std::move(state_);  // outlives the lock below
    if (!state) return;  // moved from, or given back already
    std::lock_guard lock(state->mu);
    auto it = state->held.find(key_);
    if (it == state->held.end()) return;
    it->second -= amount_;
    if (it->second == 0) state->held.erase(it);  // a client that holds nothing takes no memory
}

std::optional<ClientQuotas::Hold> ClientQuotas::take(const std::string& key, size_t amount, size_t limit) {
    std::lock_guard lock(state_->mu);
    size_t& held = state_->held[key];
    if (amount > limit || held > limit - amount) {
        if (held == 0) state_->held.erase(key);
        return std::nullopt;
    }
    held += amount;
    return std::optional<Hold>(std::in_place, state_, key, amount);
}

size_t ClientQuotas::held(const std::string& key) const {
    std::lock_guard lock(state_->mu);
    auto it = state_->held.find(key);
    return it == state_->held.end() ? 0 : it->second;
}

ApiError client_quota_refusal(const std::string& principal, const std::string& what, size_t limit,
                              const std::string& flag) {
    return {429, "client_quota",
            "this client (" + principal + ") holds its quota of " + std::to_string(limit) + " " + what + " (" + flag +
                "); retry when one of them ends"};
}

}  // namespace microvm::service
