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
    switch (host::send_all_until(fd, message, deadline)) {
        case host::SendAll::Sent: return Ok{};
        case host::SendAll::DeadlinePassed:
            return fail(Failure::Kind::SetupError, "the sandbox did not take its launch message in time");
        case host::SendAll::Failed: break;
    }
    return host::sys_failure("sending the launch message", errno);
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
