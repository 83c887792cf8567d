#include "host/deferred_teardown.hpp"

#include <system_error>

namespace microvm::host {

DeferredTeardown::~DeferredTeardown() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void DeferredTeardown::later(std::function<void()> teardown) {
    std::unique_lock lock(mu_);
    if (!stopping_ && pending_.size() < kMaxPending) {
        bool threaded = thread_.joinable();
        if (!threaded) {
            try {
                thread_ = std::thread([this] { loop(); });
                threaded = true;
            } catch (const std::system_error&) {  // no thread: torn down here, below
            }
        }
        if (threaded) {
            pending_.push_back(std::move(teardown));
            cv_.notify_all();
            return;
        }
    }
    // Backpressure (or no thread): the caller does it, counted as running for wait_idle().
    ++running_;
    lock.unlock();
    teardown();
    teardown = nullptr;
    lock.lock();
    --running_;
    cv_.notify_all();
}

void DeferredTeardown::wait_idle() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return pending_.empty() && running_ == 0; });
}

void DeferredTeardown::loop() {
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
        if (pending_.empty()) return;  // stopping, and nothing left
        std::function<void()> teardown = std::move(pending_.front());
        pending_.pop_front();
        ++running_;
        lock.unlock();
        teardown();
        teardown = nullptr;
        lock.lock();
        --running_;
        cv_.notify_all();
    }
}

}  // namespace microvm::host
