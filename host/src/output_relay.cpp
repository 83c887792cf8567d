#include "host/output_relay.hpp"

#include <utility>

namespace microvm::host {

OutputRelay::OutputRelay(Write write, Clock::time_point deadline)
    : write_(std::move(write)), deadline_(deadline), writer_([this] { run(); }) {}

OutputRelay::~OutputRelay() { finish(); }

void OutputRelay::push(std::string line, OutputStream stream) {
    {
        std::unique_lock lock(mu_);
        room_.wait_until(lock, deadline_, [&] {
            return failed_ || closing_ || bytes_ < kRelayBytes || Clock::now() >= deadline_;
        });
        if (failed_ || closing_) return;
        bytes_ += line.size() + kRelayLineOverhead;
        lines_.push_back({stream, std::move(line)});
    }
    cv_.notify_one();
}

void OutputRelay::run_ended() {
    {
        std::lock_guard lock(mu_);
        deadline_ = Clock::time_point::min();
    }
    room_.notify_all();
}

bool OutputRelay::finish(Clock::time_point drain_by, const std::function<void()>& give_up) {
    bool gave_up = false;
    {
        std::unique_lock lock(mu_);
        closing_ = true;
        cv_.notify_one();
        // Everything written: the queue empty and no write in progress.
        if (!room_.wait_until(lock, drain_by, [&] { return failed_ || (lines_.empty() && !writing_); })) {
            failed_ = true;  // the client took too long: what is left is not sent
            lines_.clear();
            bytes_ = 0;
            gave_up = true;
        }
    }
    if (gave_up && give_up) give_up();  // ends the write in progress
    if (writer_.joinable()) writer_.join();
    std::lock_guard lock(mu_);
    return !failed_;
}

void OutputRelay::run() {
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait(lock, [&] { return !lines_.empty() || closing_ || failed_; });
        if (lines_.empty() || failed_) return;  // closing with everything written, or given up
        Line line = std::move(lines_.front());
        lines_.pop_front();
        bytes_ -= line.bytes.size() + kRelayLineOverhead;
        writing_ = true;
        lock.unlock();
        room_.notify_all();
        const bool written = write_(line.stream, line.bytes);
        lock.lock();
        writing_ = false;
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

}  // namespace microvm::host
