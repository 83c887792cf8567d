#include "host/deferred_teardown.hpp"

#include <atomic>
#include <system_error>

namespace microvm::host {
namespace {
std::atomic<bool> g_callers_thread{false};
}  // namespace

void DeferredTeardown::tear_down_on_callers_thread() {
    g_callers_thread.store(true);
}

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
    if (!stopping_ && pending_.size() < kMaxPending && !g_callers_thread.load()) {
        bool threaded = thread_.joinable();
        if (!threaded) {
            try {
                thread_ = std::thread([this] { loop(); });
                threaded = true;
            } catch (const std::system_error&) {  // no thread: torn down here, below
            }
        }
        if (threaded) {
            // Woken only from a long sleep: a wake-up costs the caller (an IPI to the idle
            // core, or preemption by the woken thread) 0.1-0.3 ms here, on the path of the
            // result it is about to return; a thread that had work in the last second looks
            // every kPollPeriod on its own.
            pending_.push_back(std::move(teardown));
            const bool wake = asleep_;
            lock.unlock();
            if (wake) cv_.notify_all();
            return;
        }
    }
    // Backpressure (or no thread): the caller does it.
    run_unlocked(lock, std::move(teardown));
}

void DeferredTeardown::run_unlocked(std::unique_lock<std::mutex>& lock, std::function<void()> teardown) {
    ++running_;  // wait_idle() waits for it too
    lock.unlock();
    teardown();
    teardown = nullptr;  // what it captured goes before it counts as done
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
    auto last_work = std::chrono::steady_clock::now();
    const auto has_work = [this] { return stopping_ || !pending_.empty(); };
    for (;;) {
        if (std::chrono::steady_clock::now() - last_work > kPollFor) {
            asleep_ = true;
            cv_.wait(lock, has_work);
            asleep_ = false;
        } else {
            cv_.wait_for(lock, kPollPeriod, has_work);
        }
        if (pending_.empty() && !stopping_) continue;
        if (pending_.empty()) return;  // stopping, and nothing left
        last_work = std::chrono::steady_clock::now();
        std::function<void()> teardown = std::move(pending_.front());
        pending_.pop_front();
        run_unlocked(lock, std::move(teardown));
    }
}

}  // namespace microvm::host
