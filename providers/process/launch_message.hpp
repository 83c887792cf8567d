// The message that starts the program of a sandbox built ahead (a warm pool's): its argv and
// environment, sent by the host on ChildFds::launch once an execution claims the sandbox, and
// read by the init, which may not allocate (it is a copy of a multithreaded host), into static
// storage. The program's path is the plan's: the sandbox was built for it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "host/launch_message.hpp"
#include "microvm/error.hpp"

namespace microvm::process {

using host::LaunchHeader;
using host::kMaxLaunchBytes;
using host::kMaxLaunchStrings;
inline constexpr uint32_t kLaunchMagic = 0x4c4d564d;  // "MVML"

// The message for argv (at least one string) and env (host::encode_launch with this magic).
inline Expected<std::string> encode_launch(const std::vector<std::string>& argv,
                                           const std::vector<std::string>& env) {
    return host::encode_launch(kLaunchMagic, argv, env);
}

// Host side: writes the message to a non-blocking socket without SIGPIPE, until the deadline.
Expected<void> send_launch(int fd, const std::string& message,
                           std::chrono::steady_clock::time_point deadline);

// Init side (async-signal-safe): reads one message (host::read_launch with this magic) into
// static storage.
using host::LaunchRead;
struct LaunchArgs {
    char* const* argv = nullptr;  // null-terminated, into static storage
    char* const* envp = nullptr;
};
LaunchRead read_launch(int fd, LaunchArgs& out);

}  // namespace microvm::process
