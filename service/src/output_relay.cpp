#include "service/output_relay.hpp"

#include <utility>

namespace microvm::service {

OutputRelay::OutputRelay(std::function<bool(const std::string&)> write, Clock::time_point deadline)
    : write_(std::move(write)), deadline_(deadline), writer_([this] { run(); }) {}

OutputRelay::~OutputRelay() { finish(); }

void OutputRelay::push(std::string line) {
    {
        std::unique_lock lock(mu_);
        room_.wait_until(lock, deadline_, [&] { return failed_ || closing_ || bytes_ < kRelayBytes; });
        if (failed_ || closing_) return;
        bytes_ += line.size() + kRelayLineOverhead;
        lines_.push_back(std::move(line));
    }
    cv_.notify_one();
}

bool OutputRelay::finish(Clock::time_point drain_by) {
    {
        std::unique_lock lock(mu_);
        closing_ = true;
        cv_.notify_one();
        if (!room_.wait_until(lock, drain_by, [&] { return failed_ || lines_.empty(); })) {
            failed_ = true;  // the client took too long: what is left is not sent
            lines_.clear();
            bytes_ = 0;
        }
    }
    if (writer_.joinable()) writer_.join();
    std::lock_guard lock(mu_);
    return !failed_;
}

void OutputRelay::run() {
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait(lock, [&] { return !lines_.empty() || closing_ || failed_; });
        if (lines_.empty() || failed_) return;  // closing with everything written, or given up
        std::string line = std::move(lines_.front());
        lines_.pop_front();
        bytes_ -= line.size() + kRelayLineOverhead;
        lock.unlock();
        room_.notify_all();
        const bool written = write_(line);
        lock.lock();
        if (!written) {
            failed_ = true;
            lines_.clear();
            bytes_ = 0;
            room_.notify_all();
            return;
        }
        if (lines_.empty()) room_.notify_all();  // finish() waits for this
    }
}

}  // namespace microvm::service
