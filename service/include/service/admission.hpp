// Admission control: at most `concurrency` executions per provider run at once and at most
// `queue` more wait for a slot; a request beyond both is turned away at once (429 with
// Retry-After) instead of holding a connection. A waiting request leaves the queue when its
// client goes away (its cancel token).
#pragma once

#include <chrono>
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
        Ticket(Ticket&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)), provider_(std::move(o.provider_)) {}
        Ticket& operator=(Ticket&&) = delete;
        ~Ticket();

      private:
        friend class Admission;
        Ticket(Admission* owner, std::string provider) : owner_(owner), provider_(std::move(provider)) {}
        Admission* owner_;
        std::string provider_;
    };

    enum class Refusal { Busy, Cancelled };
    // A slot for provider, waiting in the queue when all are taken; Busy when the queue is full
    // too, Cancelled when cancel fired while waiting.
    std::variant<Ticket, Refusal> enter(const std::string& provider, const CancelToken& cancel);

    struct Load {
        size_t running = 0;
        size_t waiting = 0;
    };
    std::map<std::string, Load> load() const;
    AdmissionLimits limits_for(const std::string& provider) const;

  private:
    void leave(const std::string& provider);

    AdmissionLimits defaults_;
    std::map<std::string, AdmissionLimits> per_provider_;
    mutable std::mutex mu_;
    std::condition_variable freed_;
    std::map<std::string, Load> load_;
};

}  // namespace microvm::service
