#include "firecracker/fc_process.hpp"

#include "host/remove_tree.hpp"

namespace microvm::firecracker {

FcProcess::~FcProcess() {
    vmm = host::ChildProcess{};  // killed and reaped first: nothing writes into dir after
    if (!dir.empty()) host::remove_tree(dir);
}

Expected<void> start_vmm(const LaunchPlan& plan, FcProcess& proc) {
    // Nothing of the host's: Firecracker ties the guest's serial console to its stdout.
    RTFS_TRY(proc.vmm, host::ChildProcess::spawn({.program = plan.executable,
                                                  .argv = plan.argv,
                                                  .env = plan.env,
                                                  .stdin_fd = host::kDevNull,
                                                  .stdout_fd = host::kDevNull,
                                                  .stderr_fd = host::kDevNull}));
    return Ok{};
}

}  // namespace microvm::firecracker
