// Saving a VM over QMP into a descriptor the host opened (`getfd` + an `fd:` URI): QEMU,
// unprivileged and unable to spawn, never opens a template file itself. (A restore gets the
// state file as a descriptor at its start: -incoming fd:, qemu_command.hpp.)
#pragma once

#include <chrono>

#include "qemu/qmp_client.hpp"

namespace microvm::qemu {

// Migrates the running VM into fd (a file the host created) and waits until it completed; the
// VM is then paused for good.
Expected<void> save_state(QmpClient& qmp, int fd, std::chrono::steady_clock::time_point deadline);

}  // namespace microvm::qemu
