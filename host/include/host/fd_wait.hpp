// Waiting on descriptors until a deadline: one way to turn a deadline into poll(2)'s timeout and
// to wait for one descriptor, so that every caller rounds alike (up: a sub-millisecond remainder
// waits instead of spinning) and none is cut at a different cap.
#pragma once

#include <chrono>
#include <string_view>

namespace microvm::host {

using SteadyTime = std::chrono::steady_clock::time_point;

// Milliseconds from now until deadline for poll(2): rounded up, 0 once it has passed, at most
// cap_ms (a caller that also watches something else wakes at least that often).
int poll_timeout_ms(SteadyTime deadline, int cap_ms = 60'000);

enum class FdWait {
    Ready,           // the events came, or an error or hangup that the next call on fd reports
    DeadlinePassed,  // nothing came before the deadline
    Failed,          // poll(2) failed; errno says why
};

// Waits until fd is ready for events (POLLIN, POLLOUT) or the deadline passes.
FdWait wait_fd(int fd, short events, SteadyTime deadline);

enum class SendAll {
    Sent,            // every byte
    DeadlinePassed,  // the peer took no more before the deadline
    Failed,          // send(2) or poll(2) failed; errno says why (EPIPE: the peer is gone)
};

// Sends all of data on a socket, without SIGPIPE and without blocking past the deadline (a
// blocking socket too: each send is MSG_DONTWAIT), waiting for room as often as it takes.
SendAll send_all_until(int fd, std::string_view data, SteadyTime deadline);

// wait_fd as a yes or no: ready (or an error the next call on fd reports), or not by the deadline.
inline bool fd_ready(int fd, short events, SteadyTime deadline) { return wait_fd(fd, events, deadline) == FdWait::Ready; }

}  // namespace microvm::host
