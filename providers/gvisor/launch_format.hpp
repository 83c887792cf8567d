// The wire format between the host and the launcher (tools/gvisor-launcher), the process of a
// gVisor container built ahead (a warm pool's). The OCI spec fixes a container's process at
// `runsc create`, but an execution's arguments and environment are known only when it claims the
// sandbox: the container's process is the launcher, which announces on stdout that it waits
// (kReadyMarker), reads one launch message on stdin, and execve's the program with it. What
// follows the message on stdin is the program's own input. Self-contained but for
// host/launch_format.hpp (itself self-contained): the launcher is a static program that links
// nothing of the project.
#pragma once

#include <cstddef>
#include <cstdint>

#include "host/launch_format.hpp"

namespace microvm::gvisor {

using host::LaunchHeader;  // host/launch_format.hpp: the layout every launch message has
using host::kMaxLaunchBytes;
using host::kMaxLaunchStrings;
inline constexpr uint32_t kLaunchMagic = 0x4c47564d;  // "MVGL"

// What the launcher writes on stdout before it reads the message, nothing else before the
// program runs: the host reads exactly these bytes while preparing, so the program's stdout is
// everything after them.
inline constexpr char kReadyMarker[] = "MVGLRDY\n";
inline constexpr size_t kReadyMarkerBytes = sizeof kReadyMarker - 1;

// Where the launcher appears inside the container (a read-only bind of the host's file).
inline constexpr const char* kLauncherPathInside = "/.microvm-launcher";

// The launcher's exit code when the program cannot be executed (with the reason on stderr), as
// a shell reports a command it cannot run.
inline constexpr int kLauncherExecFailed = 127;

}  // namespace microvm::gvisor
