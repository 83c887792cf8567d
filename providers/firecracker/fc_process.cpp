#include "firecracker/fc_process.hpp"

#include <fcntl.h>

#include <cerrno>

#include "host/remove_tree.hpp"
#include "host/sys_error.hpp"
#include "host/unique_fd.hpp"

namespace microvm::firecracker {

FcProcess::~FcProcess() {
    vmm = host::ChildProcess{};  // killed and reaped first: nothing writes into dir after
    if (!dir.empty()) host::remove_tree(dir);
}

Expected<void> start_vmm(const LaunchPlan& plan, FcProcess& proc) {
    host::UniqueFd in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    host::UniqueFd out(::open("/dev/null", O_WRONLY | O_CLOEXEC));
    if (!in.valid() || !out.valid()) return host::sys_failure("open /dev/null for Firecracker", errno);
    RTFS_TRY(proc.vmm, host::ChildProcess::spawn({.program = plan.executable,
                                                  .argv = plan.argv,
                                                  .env = plan.env,
                                                  .stdin_fd = in.get(),
                                                  .stdout_fd = out.get(),
                                                  .stderr_fd = out.get()}));
    return Ok{};
}

}  // namespace microvm::firecracker
