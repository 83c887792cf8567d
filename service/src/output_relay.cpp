#include "service/output_relay.hpp"

#include <utility>

namespace microvm::service {

OutputRelay::OutputRelay(std::function<bool(const std::string&)> write)
    : write_(std::move(write)), writer_([this] { run(); }) {}

OutputRelay::~OutputRelay() { finish(); }

void OutputRelay::push(std::string line) {
    {
        std::lock_guard lock(mu_);
        if (failed_ || closing_) return;
        lines_.push_back(std::move(line));
    }
    cv_.notify_one();
}

bool OutputRelay::finish() {
    {
        std::lock_guard lock(mu_);
        closing_ = true;
    }
    cv_.notify_one();
    if (writer_.joinable()) writer_.join();
    std::lock_guard lock(mu_);
    return !failed_;
}

void OutputRelay::run() {
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait(lock, [&] { return !lines_.empty() || closing_; });
        if (lines_.empty()) return;  // closing, and everything written
        std::string line = std::move(lines_.front());
        lines_.pop_front();
        lock.unlock();
        const bool written = write_(line);
        lock.lock();
        if (!written) {
            failed_ = true;
            lines_.clear();
            return;
        }
    }
}

}  // namespace microvm::service
