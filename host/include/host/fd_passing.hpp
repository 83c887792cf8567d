// Handing one file descriptor over a Unix socket (SCM_RIGHTS), with one data byte so that the
// receiver tells "sent" from "the sender closed its end".
#pragma once

#include <chrono>
#include <optional>

#include "host/unique_fd.hpp"
#include "microvm/error.hpp"

namespace microvm::host {

// Async-signal-safe (a forked child may call it): false with errno set on failure.
bool send_fd(int socket, int fd) noexcept;

// Waits up to timeout for the peer to send one descriptor (returned, close-on-exec). nullopt:
// nothing came, because the peer closed its end first or the time passed (another process may
// hold a copy of the peer's end, so EOF alone could come late). SetupError naming `what` when
// the wait fails or the message is not exactly one descriptor: whatever descriptors a malformed
// message carried are closed, never left open in this process.
Expected<std::optional<UniqueFd>> receive_fd(int socket, const char* what, std::chrono::milliseconds timeout);

}  // namespace microvm::host
