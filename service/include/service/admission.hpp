// Admission control: at most `concurrency` executions per provider run at once and at most
// `queue` more wait for a slot; a request beyond both is turned away at once (429 with
// Retry-After) instead of holding a connection. A waiting request leaves the queue when its
// client goes away (its cancel token).
//
// A client (its principal) runs at most `client_running_limit` executions of a provider at once
// (red team K2, 2026-12-03: one client's long runs held every running slot and the others waited
// behind them). A freed slot goes to the first waiter, in arrival order, whose client is under
// that limit: a client at its limit waits while another client's later execution starts.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "microvm/cancel.hpp"

namespace microvm::service {

struct AdmissionLimits {
    size_t concurrency = 4;
    size_t queue = 16;
};

class Admission {
  public:
    Admission(AdmissionLimits defaults, std::map<std::string, AdmissionLimits> per_provider = {});

    // Holds one slot until destroyed.
    class Ticket {
      public:
        Ticket(Ticket&& o) noexcept
            : owner_(std::exchange(o.owner_, nullptr)), provider_(std::move(o.provider_)), client_(std::move(o.client_)) {}
        Ticket& operator=(Ticket&&) = delete;
        ~Ticket();

      private:
        friend class Admission;
        Ticket(Admission* owner, std::string provider, std::string client)
            : owner_(owner), provider_(std::move(provider)), client_(std::move(client)) {}
        Admission* owner_;
        std::string provider_;
        std::string client_;
    };

    enum class Refusal { Busy, Cancelled };
    // A slot for provider, waiting in the queue when all are taken or client already runs
    // client_running_limit executions of it (SIZE_MAX: no limit); Busy when the queue is full
    // too, Cancelled when cancel fired while waiting.
    std::variant<Ticket, Refusal> enter(const std::string& provider, const std::string& client,
                                        size_t client_running_limit, const CancelToken& cancel);

    struct Load {
        size_t running = 0;
        size_t waiting = 0;
    };
    std::map<std::string, Load> load() const;
    AdmissionLimits limits_for(const std::string& provider) const;

  private:
    struct Waiter {
        uint64_t seq;
        std::string client;
    };
    struct State {
        Load load;
        std::map<std::string, size_t> running_by_client;
        std::list<Waiter> queue;  // arrival order
    };
    // Whether the waiter seq may take a slot now: one is free and seq is the first waiter whose
    // client is under client_limit.
    bool first_to_start(const State& st, uint64_t seq, size_t concurrency, size_t client_limit) const;
    void leave(const std::string& provider, const std::string& client);

    AdmissionLimits defaults_;
    std::map<std::string, AdmissionLimits> per_provider_;
    mutable std::mutex mu_;
    std::condition_variable changed_;
    std::map<std::string, State> state_;
    uint64_t next_seq_ = 0;
};

}  // namespace microvm::service
