// The launch message of a sandbox built ahead (a warm pool's): the program's argv and
// environment, sent by the host when an execution claims the sandbox, read by whatever waits
// inside (the process sandbox's init, the gvisor launcher), each with a magic of its own. Self-
// contained (no includes of the project): the gvisor launcher is a static program that links
// nothing of it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace microvm::host {

// The header, then `bytes` of NUL-terminated strings: argc of argv, then envc of environment.
struct LaunchHeader {
    uint32_t magic = 0;
    uint32_t argc = 0;
    uint32_t envc = 0;
    uint32_t bytes = 0;
};
// Above what execve takes (a quarter of the stack limit, 2 MiB by default).
inline constexpr size_t kMaxLaunchBytes = 4u << 20;
inline constexpr size_t kMaxLaunchStrings = 1u << 16;

}  // namespace microvm::host
