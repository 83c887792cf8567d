#include "firecracker/fc_process.hpp"

#include <sys/stat.h>
#include <sys/wait.h>

#include <cerrno>

#include "host/remove_tree.hpp"

namespace microvm::firecracker {

FcProcess::~FcProcess() {
    vmm = host::ChildProcess{};  // killed and reaped first (its namespace with it): nothing writes after
    if (!dir.empty()) host::remove_tree(dir);
    if (!jail.empty()) host::remove_tree(jail);
    uid_lease.reset();  // no process of the uid is left
}

Expected<void> start_vmm(const LaunchPlan& plan, FcProcess& proc) {
    if (plan.jailed) {
        struct stat st {};
        if (::lstat(plan.jail_dir.c_str(), &st) == 0 || errno != ENOENT)
            return fail(Failure::Kind::SetupError,
                        "the jail " + plan.jail_dir + " exists already (or cannot be looked at): it was not made for this VM");
        proc.jail = plan.jail_dir;
    }
    // Nothing of the host's: Firecracker ties the guest's serial console to its stdout.
    RTFS_TRY(proc.vmm, host::ChildProcess::spawn({.program = plan.executable,
                                                  .argv = plan.argv,
                                                  .env = plan.env,
                                                  .stdin_fd = host::kDevNull,
                                                  .stdout_fd = host::kDevNull,
                                                  .stderr_fd = host::kDevNull,
                                                  .dies_with_host_whatever_its_uid = plan.jailed}));
    return Ok{};
}

Expected<void> wait_for_api(FcApiClient& client, FcProcess& proc, const CancelToken& cancel,
                            std::chrono::milliseconds timeout) {
    const auto by = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto ready = client.wait_ready(std::chrono::milliseconds(200));
        if (ready) return Ok{};
        // Only a socket not there yet (or not answering yet) is waited out.
        if (ready.error().kind != FcError::Kind::Timeout) return fail(Failure::Kind::SetupError, ready.error().message());
        if (auto gone = proc.vmm.try_wait()) {
            return fail(Failure::Kind::SetupError, "firecracker (or its jailer) " +
                                                       host::describe_wait_status(gone->wait_status) +
                                                       " before its API answered");
        }
        if (cancel.cancelled()) return fail(Failure::Kind::SetupError, "cancelled while Firecracker started");
        if (std::chrono::steady_clock::now() >= by) return fail(Failure::Kind::SetupError, ready.error().message());
    }
}

}  // namespace microvm::firecracker
