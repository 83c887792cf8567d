#include "host/output_relay.hpp"

#include <algorithm>
#include <utility>

#include "host/sigpipe_block.hpp"

namespace microvm::host {

namespace {

// How often a push() waiting for room looks at the cancel token (a condition variable cannot
// wait on it).
constexpr auto kCancelPoll = std::chrono::milliseconds(50);

}  // namespace

OutputRelay::OutputRelay(Write write, Clock::time_point deadline, CancelToken cancel)
    : write_(std::move(write)), deadline_(deadline), cancel_(std::move(cancel)), writer_([this] { run(); }) {}

OutputRelay::~OutputRelay() { finish(); }

void OutputRelay::push(std::string line, OutputStream stream) {
    {
        std::unique_lock lock(mu_);
        auto no_wait = [&] {
            return failed_ || closing_ || bytes_ < kRelayBytes || Clock::now() >= deadline_ || cancel_.cancelled();
        };
        const bool cancellable = cancel_.wait_fd() >= 0;
        while (!no_wait())
            room_.wait_until(lock, cancellable ? std::min(deadline_, Clock::now() + kCancelPoll) : deadline_);
        if (failed_ || closing_) return;
        // The writer takes entries off the front: the back is never being written.
        // Counted as the heap holds it: an entry grown by appending has room to spare.
        if (!lines_.empty() && lines_.back().stream == stream &&
            lines_.back().bytes.size() + line.size() <= kRelayEntryBytes) {
            Line& back = lines_.back();
            back.bytes += line;
            bytes_ += back.bytes.capacity() + kRelayLineOverhead - back.counted;
            back.counted = back.bytes.capacity() + kRelayLineOverhead;
        } else {
            const size_t counted = line.capacity() + kRelayLineOverhead;
            bytes_ += counted;
            lines_.push_back({stream, std::move(line), counted});
        }
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
        room_.notify_all();  // a push() waiting for room returns
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
    SigpipeBlock sigpipe;  // a reader gone is a failed write
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait(lock, [&] { return !lines_.empty() || closing_ || failed_; });
        if (lines_.empty() || failed_) return;  // closing with everything written, or given up
        Line line = std::move(lines_.front());
        lines_.pop_front();
        bytes_ -= line.counted;
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
