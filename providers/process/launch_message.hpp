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

#include "microvm/error.hpp"

namespace microvm::process {

// The header, then `bytes` of NUL-terminated strings: argc of argv, then envc of environment.
struct LaunchHeader {
    uint32_t magic = 0;
    uint32_t argc = 0;
    uint32_t envc = 0;
    uint32_t bytes = 0;
};
inline constexpr uint32_t kLaunchMagic = 0x4c4d564d;  // "MVML"
// Above what execve takes (a quarter of the stack limit, 2 MiB by default), below what the
// init keeps for it.
inline constexpr size_t kMaxLaunchBytes = 4u << 20;
inline constexpr size_t kMaxLaunchStrings = 1u << 16;

// The message for argv (at least one string) and env; InvalidInput when it is too large.
Expected<std::string> encode_launch(const std::vector<std::string>& argv,
                                    const std::vector<std::string>& env);

// Host side: writes the message to a non-blocking socket without SIGPIPE, until the deadline.
Expected<void> send_launch(int fd, const std::string& message,
                           std::chrono::steady_clock::time_point deadline);

// Init side (async-signal-safe): reads one message from fd. kClosed: end of input before any
// byte (the host tore the sandbox down); kMalformed: anything else that is not one message.
enum class LaunchRead { kOk, kClosed, kMalformed };
struct LaunchArgs {
    char* const* argv = nullptr;  // null-terminated, into static storage
    char* const* envp = nullptr;
};
LaunchRead read_launch(int fd, LaunchArgs& out);

}  // namespace microvm::process
