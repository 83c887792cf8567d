// Unix stream sockets with a deadline on every step, for the API socket and the vsock socket.
// Descriptors are non-blocking and close-on-exec; every wait is a poll() bounded by the deadline,
// so a peer that accepts and then says nothing costs at most the caller's timeout.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "firecracker/fc_error.hpp"
#include "host/unique_fd.hpp"

namespace microvm::firecracker {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

inline Deadline deadline_after(std::chrono::milliseconds timeout) {
    return Clock::now() + timeout;
}

// Connects to the stream socket at path. Connect when it is missing, refuses or the path is too
// long; Timeout when its backlog stays full until the deadline. `call` names the caller's
// operation in errors.
FcExpected<host::UniqueFd> connect_unix(const std::string& path, Deadline deadline,
                                        const std::string& call);

// Sends all of data (MSG_NOSIGNAL: a closed peer is an error, not SIGPIPE).
FcExpected<void> send_all(int fd, std::string_view data, Deadline deadline,
                          const std::string& call);

// Waits until fd is readable, then reads at most max bytes into buf. 0 means the peer closed.
FcExpected<size_t> recv_some(int fd, char* buf, size_t max, Deadline deadline,
                             const std::string& call);

}  // namespace microvm::firecracker
