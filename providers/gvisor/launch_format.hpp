// The wire format between the host and the launcher (tools/gvisor-launcher), the process of a
// gVisor container: one built ahead (a warm pool's), whose execution's arguments and environment
// are known only when it claims the sandbox while the OCI spec fixes a container's process at
// `runsc create`, and a one-shot run's, so that the boot is not held to the program's CPU share
// (live_container.hpp). The container's process is the launcher, which announces on stdout that it waits
// (kReadyMarker), reads one launch message on stdin and the launch's digits (kExecNonceBytes,
// below), and execve's the program with it. What follows them on stdin is the program's own input. Self-contained but for
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
// "MVG2": the launch's digits follow the message since 2026-12-05 ("MVGL" before). A launcher and
// a host of different formats refuse each other's message ("malformed launch message") instead
// of handing the digits to the program as its input (a review).
inline constexpr uint32_t kLaunchMagic = 0x3247564d;

// What the launcher writes on stdout before it reads the message, nothing else before the
// program runs: the host reads exactly these bytes while preparing, so the program's stdout is
// everything after them.
inline constexpr char kReadyMarker[] = "MVGLRDY\n";
inline constexpr size_t kReadyMarkerBytes = sizeof kReadyMarker - 1;

// Where the launcher appears inside the container (a read-only bind of the host's file).
inline constexpr const char* kLauncherPathInside = "/.microvm-launcher";

// Right after the launch message (before the program's input) the host sends kExecNonceBytes
// lowercase hexadecimal digits drawn for this launch. When the program cannot be executed, the
// launcher writes on stdout (where the program, never started, wrote nothing) kExecFailedMarker,
// the errno in decimal, " ", those digits and "\n", and exits kLauncherExecFailed; the host
// reports the exec failure (exec_record.hpp). The program never learns the digits (read from
// the pipe before it starts, in no argument or variable, gone with the launcher's memory at
// execve), so it cannot write a record of its own: without them, a program that printed
// "MVGLEXF 2" and exited 127 after running was reported as never started (program_not_found;
// red team, 2026-12-05).
inline constexpr char kExecFailedMarker[] = "MVGLEXF ";
inline constexpr int kLauncherExecFailed = 127;
inline constexpr size_t kExecNonceBytes = 32;

}  // namespace microvm::gvisor
