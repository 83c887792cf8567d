// The host side of a running sandbox: one poll loop that feeds stdin, reads stdout, stderr, the
// guest's result channel and the init's reports concurrently (so no pipe ever fills up and
// deadlocks), caps what it keeps (handing each kept chunk of output on as it arrives), and kills
// the sandbox at the deadline or when cancelled. It returns once the init has exited and every
// pipe is drained, or, when asked, once every pipe has ended.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "host/unique_fd.hpp"
#include "microvm/result.hpp"

namespace microvm::host {

struct CapturedStream {
    std::string data;
    bool truncated = false;  // more arrived than the cap; the rest was read and discarded
};

struct CaptureTargets {
    int stdout_fd = -1;  // read ends
    int stderr_fd = -1;
    int result_fd = -1;
    int report_fd = -1;
    host::UniqueFd stdin_fd;  // write end (non-blocking): fed stdin_data, then closed
    std::string_view stdin_data;
    int pidfd = -1;  // the init; readable once it exited
    uint64_t max_output_bytes = 1 << 20;
    uint64_t max_result_bytes = 64u << 20;
    std::chrono::steady_clock::time_point deadline;
    std::function<void()> on_deadline;  // kills the sandbox (at the deadline or cancelled)
    std::function<void()> on_tick;      // optional, called every few milliseconds
    // Optional: each chunk of stdout/stderr kept (within max_output_bytes), as it arrives.
    std::function<void(OutputStream, std::string_view)> on_output;
    int cancel_fd = -1;  // readable once the execution is cancelled (CancelToken::wait_fd)
    // Return as soon as every pipe read here has ended, without waiting for the init's exit: for
    // an init that closes its report pipe after its last report, the rest of its exit is the
    // sandbox's teardown, which need not delay the result.
    bool return_when_drained = false;
};

struct Captured {
    CapturedStream out;
    CapturedStream err;
    CapturedStream result;
    std::string reports;  // raw ChildReport records
    bool deadline_hit = false;
    bool cancelled = false;  // killed because cancel_fd became readable
    bool exited = false;  // the init exited (else polling failed, or return_when_drained)
    bool drained = false;  // every pipe ended before the init exited (return_when_drained)
    std::chrono::steady_clock::time_point exited_at;
};

Captured capture_until_exit(CaptureTargets targets);

}  // namespace microvm::host
