#include "service/admission.hpp"

namespace microvm::service {

Admission::Admission(AdmissionLimits defaults, std::map<std::string, AdmissionLimits> per_provider)
    : defaults_(defaults), per_provider_(std::move(per_provider)) {}

Admission::Ticket::~Ticket() {
    if (owner_) owner_->leave(provider_);
}

AdmissionLimits Admission::limits_for(const std::string& provider) const {
    auto it = per_provider_.find(provider);
    return it == per_provider_.end() ? defaults_ : it->second;
}

std::variant<Admission::Ticket, Admission::Refusal> Admission::enter(const std::string& provider,
                                                                   const CancelToken& cancel) {
    const AdmissionLimits limits = limits_for(provider);
    std::unique_lock lock(mu_);
    Load& l = load_[provider];
    if (l.running < limits.concurrency && l.waiting == 0) {
        ++l.running;
        return Ticket(this, provider);
    }
    if (l.waiting >= limits.queue) return Refusal::Busy;
    ++l.waiting;
    // Woken by a freed slot; the timeout re-checks the client's token (it has no condvar).
    while (!(l.running < limits.concurrency)) {
        if (cancel.cancelled()) {
            --l.waiting;
            return Refusal::Cancelled;
        }
        freed_.wait_for(lock, std::chrono::milliseconds(50));
    }
    --l.waiting;
    ++l.running;
    return Ticket(this, provider);
}

void Admission::leave(const std::string& provider) {
    {
        std::lock_guard lock(mu_);
        --load_[provider].running;
    }
    freed_.notify_all();
}

std::map<std::string, Admission::Load> Admission::load() const {
    std::lock_guard lock(mu_);
    return load_;
}

}  // namespace microvm::service
