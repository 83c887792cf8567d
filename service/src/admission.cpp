#include "service/admission.hpp"

#include <algorithm>

namespace microvm::service {

Admission::Admission(AdmissionLimits defaults, std::map<std::string, AdmissionLimits> per_provider)
    : defaults_(defaults), per_provider_(std::move(per_provider)) {}

Admission::Ticket::~Ticket() {
    if (owner_) owner_->leave(provider_, client_);
}

AdmissionLimits Admission::limits_for(const std::string& provider) const {
    auto it = per_provider_.find(provider);
    return it == per_provider_.end() ? defaults_ : it->second;
}

bool Admission::first_to_start(const State& st, uint64_t seq, size_t concurrency, size_t client_limit) const {
    if (st.load.running >= concurrency) return false;
    auto under_limit = [&](const std::string& client) {
        auto it = st.running_by_client.find(client);
        return it == st.running_by_client.end() || it->second < client_limit;
    };
    // The queue in arrival order: the first waiter whose client is under its running limit.
    for (const Waiter& w : st.queue)
        if (under_limit(w.client)) return w.seq == seq;
    return false;
}

std::variant<Admission::Ticket, Admission::Refusal> Admission::enter(const std::string& provider,
                                                                   const std::string& client,
                                                                   size_t client_running_limit,
                                                                   const CancelToken& cancel) {
    const AdmissionLimits limits = limits_for(provider);
    std::unique_lock lock(mu_);
    State& st = state_[provider];
    auto start = [&] {
        ++st.load.running;
        ++st.running_by_client[client];
        return Ticket(this, provider, client);
    };
    const uint64_t seq = next_seq_++;
    st.queue.push_back({seq, client});
    if (first_to_start(st, seq, limits.concurrency, client_running_limit)) {
        st.queue.pop_back();
        return start();
    }
    if (st.load.waiting >= limits.queue) {
        st.queue.pop_back();
        return Refusal::Busy;
    }
    ++st.load.waiting;
    auto leave_queue = [&] {
        --st.load.waiting;
        st.queue.erase(std::find_if(st.queue.begin(), st.queue.end(), [&](const Waiter& w) { return w.seq == seq; }));
    };
    // Woken by a freed slot or a waiter leaving; the timeout re-checks the client's token (it has
    // no condvar).
    while (!first_to_start(st, seq, limits.concurrency, client_running_limit)) {
        if (cancel.cancelled()) {
            leave_queue();
            lock.unlock();
            changed_.notify_all();  // a waiter behind this one may now be the first
            return Refusal::Cancelled;
        }
        changed_.wait_for(lock, std::chrono::milliseconds(50));
    }
    leave_queue();
    Ticket t = start();
    lock.unlock();
    changed_.notify_all();  // another client's waiter behind this one may start too
    return t;
}

void Admission::leave(const std::string& provider, const std::string& client) {
    {
        std::lock_guard lock(mu_);
        State& st = state_[provider];
        --st.load.running;
        if (auto it = st.running_by_client.find(client); it != st.running_by_client.end() && --it->second == 0)
            st.running_by_client.erase(it);  // a client running nothing takes no memory
    }
    changed_.notify_all();
}

std::map<std::string, Admission::Load> Admission::load() const {
    std::lock_guard lock(mu_);
    std::map<std::string, Load> out;
    for (const auto& [provider, st] : state_) out[provider] = st.load;
    return out;
}

}  // namespace microvm::service
