// A run's output, handed over by the thread that captures it (the loop that also enforces the
// deadline) and written by a thread of its own, to microvmd's client or to the CLI's stdout.
// Written on the capturing thread, a reader that read slowly held the capture loop in its write,
// and the deadline was acted on late while the program kept running: up to the write timeout
// (10 s) for microvmd's client (red team, 2026-12-04), until the operator read again for the
// CLI's stdout (a stalled pipe, a terminal stopped with Ctrl-S; review, 2026-12-05).
// What waits is bounded (kRelayBytes, each entry counted with its heap overhead: a program
// writing one byte per read made 80 bytes of queue per byte, 357 MB of daemon memory in 30 s;
// red team): while it is full, push() waits for the reader, so the program waits on its pipe, as
// it did when the capture wrote itself. Only until the run's deadline or its cancellation: from
// then on push() never waits, so the capture is free to kill the program; what it writes
// meanwhile is queued past the bound, appended to the last entry of its stream (up to
// kRelayEntryBytes; over the bound, also across an entry of the other stream, the order between
// the two streams giving way), so that the queue holds no more than the output caps and a
// little: the CLI's deadline is counted from before the sandbox started, earlier than the
// program's (a VM's boot earlier). A guest alternating one-byte writes of the two streams had
// made an entry per byte, 50 times the caps (red team, 2026-12-06). Where a line is larger than
// what it carries (microvmd's JSON events, ~37 bytes for one), the caller also sets late_limit:
// past the deadline and before run_ended(), the first line that would take the queue past it
// cuts the stream there: it and every line after it are dropped and counted (dropped_bytes()),
// so that a reader sees no holes, only an end; what comes after run_ended() (the result) never
// is.
// The writer's thread blocks SIGPIPE: a reader that went away is a failed write (the CLI piped
// into `head`), not the death of the process with its sandbox's cleanup undone (red team,
// 2026-12-05).

#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "microvm/cancel.hpp"
#include "microvm/context.hpp"

namespace microvm::host {

inline constexpr size_t kRelayBytes = 1 << 20;
inline constexpr size_t kRelayLineOverhead = 64;  // a deque entry and a string's heap block
inline constexpr size_t kRelayEntryBytes = 64 << 10;  // lines are appended to an entry up to this

class OutputRelay {
  public:
    using Clock = std::chrono::steady_clock;
    // write: sends what was pushed for a stream (one line, or several appended) to it; false
    // when the reader went away (nothing more is written). push() waits for room until deadline
    // (the run's: no earlier than when it could be hit) and not once cancel is cancelled.
    using Write = std::function<bool(OutputStream, const std::string&)>;
    OutputRelay(Write write, Clock::time_point deadline, CancelToken cancel = {},
                size_t late_limit = SIZE_MAX);  // starts the writer
    ~OutputRelay();  // finish()
    OutputRelay(const OutputRelay&) = delete;
    OutputRelay& operator=(const OutputRelay&) = delete;

    // Queues a line; while kRelayBytes wait, first waits for room (not past the deadline, not
    // once cancelled).
    void push(std::string line, OutputStream stream = OutputStream::Stdout);
    // The run has ended: push() no longer waits.
    void run_ended();
    // Waits until every line pushed is written, a write failed or drain_by passed; then
    // give_up() (which must end a write in progress: shutting the connection down) and nothing
    // more is written. Stops the writer. True when every line was written.
    bool finish(Clock::time_point drain_by = Clock::time_point::max(), const std::function<void()>& give_up = {});
    // The bytes of the lines dropped over late_limit.
    size_t dropped_bytes();
    // The bytes the queue holds now (with each entry's overhead).
    size_t queued_bytes();

  private:
    void run();

    struct Line {
        OutputStream stream;
        std::string bytes;
        size_t counted;  // in bytes_: its capacity and kRelayLineOverhead
    };
    Write write_;
    std::mutex mu_;
    Clock::time_point deadline_;     // push() waits for room until then
    CancelToken cancel_;             // or until this is cancelled
    std::condition_variable cv_;     // the writer: a line, or closing
    std::condition_variable room_;   // push() and finish(): room, written, or failed
    std::deque<Line> lines_;
    size_t bytes_ = 0;               // of lines_: their capacity, with kRelayLineOverhead each
    bool closing_ = false;
    bool failed_ = false;
    bool writing_ = false;           // the writer is in write_()
    bool ended_ = false;             // run_ended() was called
    size_t late_limit_;              // see the top of the file
    size_t dropped_ = 0;
    std::thread writer_;
};

}  // namespace microvm::host
