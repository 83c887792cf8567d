#include "process/launch_message.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "host/fd_wait.hpp"
#include "host/sys_error.hpp"

namespace microvm::process {
namespace {

// The init's storage (it is single-threaded and reads one message in its life). In the host's
// BSS: pages nobody touches cost nothing.
char g_strings[kMaxLaunchBytes];
char* g_pointers[kMaxLaunchStrings + 2];  // argv, its null, envp, its null

}  // namespace

Expected<void> send_launch(int fd, const std::string& message,
                           std::chrono::steady_clock::time_point deadline) {
    size_t sent = 0;
    while (sent < message.size()) {
        ssize_t n = ::send(fd, message.data() + sent, message.size() - sent,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            sent += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN) return host::sys_failure("sending the launch message", errno);
        switch (host::wait_fd(fd, POLLOUT, deadline)) {
            case host::FdWait::Ready: break;
            case host::FdWait::DeadlinePassed:
                return fail(Failure::Kind::SetupError, "the sandbox did not take its launch message in time");
            case host::FdWait::Failed: return host::sys_failure("waiting to send the launch message", errno);
        }
    }
    return Ok{};
}

LaunchRead read_launch(int fd, LaunchArgs& out) {
    char** argv = nullptr;
    char** envp = nullptr;
    const LaunchRead read = host::read_launch(fd, kLaunchMagic, g_strings, g_pointers, argv, envp);
    if (read == LaunchRead::kOk) {
        out.argv = argv;
        out.envp = envp;
    }
    return read;
}

}  // namespace microvm::process
