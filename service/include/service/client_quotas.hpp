// Per-client quotas: how much of a shared capacity one client may hold at once, so that one
// client cannot starve the others (red team M4, 2026-12-03: one token holder could take every
// execution slot, every session and the whole request-body budget). A client is its principal
// (ClientIdentity::principal(): the token id on TCP/TLS, the peer's uid on the Unix socket).
//
// The default share is half of the capacity, rounded up, at least 1 (client_share): one client
// can never hold everything while another waits, two busy clients can still fill the daemon,
// and a daemon configured with a larger share (up to all of it, for a single user) allows it.
// Over its quota a client gets 429 + Retry-After, code `client_quota`, naming the quota.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "service/api_error.hpp"

namespace microvm::service {

// Half of capacity, rounded up, at least 1: the default per-client share.
inline size_t client_share(size_t capacity) { return capacity / 2 + capacity % 2 + (capacity == 0); }

// The limit take() applies for a quota of a capacity: none when the quota reaches the capacity
// (a single-user daemon's setting, or a capacity of 1): the capacity's own refusal (busy,
// too_many_sandboxes) then answers, as it did before quotas.
inline size_t enforced_quota(size_t quota, size_t capacity) { return quota >= capacity ? SIZE_MAX : quota; }

class ClientQuotas {
    struct State {
        std::mutex mu;
        std::map<std::string, size_t> held;  // by key (a principal, or principal + what)
    };

  public:
    // Units of a key held until destroyed. It keeps the counters alive, so a holder may outlive
    // the ClientQuotas it came from.
    class Hold {
      public:
        Hold(std::shared_ptr<State> state, std::string key, size_t amount)
            : state_(std::move(state)), key_(std::move(key)), amount_(amount) {}
        Hold(Hold&&) noexcept = default;
        Hold& operator=(Hold&& other) noexcept {
            if (this != &other) {
                release();
                state_ = std::move(other.state_);  // leaves other empty: its destructor gives nothing back
                key_ = std::move(other.key_);
                amount_ = other.amount_;
            }
            return *this;
        }
        Hold(const Hold&) = delete;
        Hold& operator=(const Hold&) = delete;
        ~Hold() { release(); }

      private:
        void release() noexcept;

        std::shared_ptr<State> state_;
        std::string key_;
        size_t amount_;
    };

    // amount more units for key, unless key would then hold more than limit.
    std::optional<Hold> take(const std::string& key, size_t amount, size_t limit);
    size_t held(const std::string& key) const;

  private:
    std::shared_ptr<State> state_ = std::make_shared<State>();
};

// The refusal of a client over a quota: 429 (error_reply adds Retry-After), code client_quota,
// the message naming the quota, its size and the flag that sets it.
ApiError client_quota_refusal(const std::string& principal, const std::string& what, size_t limit,
                              const std::string& flag);

}  // namespace microvm::service
