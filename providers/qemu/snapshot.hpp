// Saving and restoring a VM over QMP with descriptors the host opened (`getfd` + `fd:` URIs):
// QEMU, unprivileged and unable to spawn, never opens a template file itself.
#pragma once

#include <chrono>

#include "qemu/qmp_client.hpp"

namespace microvm::qemu {

// Migrates the running VM into fd (a file the host created) and waits until it completed; the
// VM is then paused for good.
Expected<void> save_state(QmpClient& qmp, int fd, std::chrono::steady_clock::time_point deadline);

// Starts loading a VM launched with -incoming defer from fd (a template's state file); the VM
// runs by itself once loaded (QEMU exits when the stream does not load).
Expected<void> start_incoming(QmpClient& qmp, int fd, std::chrono::steady_clock::time_point deadline);

}  // namespace microvm::qemu
