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

OutputRelay::OutputRelay(Write write, Clock::time_point deadline, CancelToken cancel, size_t late_limit)
    : write_(std::move(write)),
      deadline_(deadline),
      cancel_(std::move(cancel)),
      late_limit_(late_limit),
      writer_([this] { run(); }) {}

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
        // Past the deadline, over late_limit_: the stream is cut from this line until the run ends.
        // The size first: the clock and the token are read only for a queue over the late limit.
        auto late = [&] { return Clock::now() >= deadline_ || cancel_.cancelled(); };
        if (!ended_ && (dropped_ > 0 || (bytes_ + line.size() + kRelayLineOverhead > late_limit_ && late()))) {
            dropped_ += line.size();
            return;
        }
        // The writer takes entries off the front: those left are never being written.
        // Counted as the heap holds it: an entry grown by appending has room to spare.
        Line* same = nullptr;
        if (!lines_.empty() && lines_.back().stream == stream) {
            same = &lines_.back();
        } else if (bytes_ >= kRelayBytes && lines_.size() >= 2 && lines_[lines_.size() - 2].stream == stream) {
            same = &lines_[lines_.size() - 2];  // over the bound: the bound before the order
        }
        if (same && same->bytes.size() + line.size() <= kRelayEntryBytes) {
            same->bytes += line;
            bytes_ += same->bytes.capacity() + kRelayLineOverhead - same->counted;
            same->counted = same->bytes.capacity() + kRelayLineOverhead;
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
        ended_ = true;
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

size_t OutputRelay::dropped_bytes() {
    std::lock_guard lock(mu_);
    return dropped_;
}

size_t OutputRelay::queued_bytes() {
    std::lock_guard lock(mu_);
    return bytes_;
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
