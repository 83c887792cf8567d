// The Firecracker process of one VM (or the jailer that becomes it), as an RAII object: started
// with nothing of the host's, killed and reaped on destruction, its directory and its jail
// removed after (the jailer leaves its tree to its caller: each run left ~20 MB and a jail whose
// name a later run could meet, red team 2026-12-06), its uid lease released last.
// Jailed, it runs in a pid namespace of its own (host::SpawnRequest::dies_with_host_whatever_its_uid):
// the jailer's drop to the jail's uid cleared its death signal, and a jailed VM ran on after its
// host was killed (red team, 2026-12-06).
// Nothing of the host's: Firecracker ties the guest's serial console to its stdout and reads
// its stdin, so the guest wrote past every output cap into the CLI's stdout (ahead of its
// --json result) or microvmd's journal, and read the caller's terminal or pipe (red team,
// 2026-12-05). Its 0, 1 and 2 are /dev/null and it inherits no other descriptor.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "firecracker/fc_api_client.hpp"
#include "firecracker/fc_launch.hpp"
#include "host/child_process.hpp"
#include "host/id_lease.hpp"
#include "microvm/cancel.hpp"
#include "microvm/error.hpp"

namespace microvm::firecracker {

struct FcProcess {
    std::optional<host::IdLease> uid_lease;  // jailed: the VM's uid (kFirecrackerUidBase + it)
    host::ChildProcess vmm;
    std::string dir;   // the VM's private directory (make_vm_dir), removed once vmm is reaped
    std::string jail;  // jailed: the jail (LaunchPlan::jail_dir) start_vmm made room for, removed too
    FcProcess() = default;
    FcProcess(const FcProcess&) = delete;
    FcProcess& operator=(const FcProcess&) = delete;
    ~FcProcess();
};

// Starts plan's command as proc.vmm. Jailed, its jail must not exist yet: SetupError otherwise
// (whatever is there was not made for this VM, and is neither used nor removed).
Expected<void> start_vmm(const LaunchPlan& plan, FcProcess& proc);

// Waits for Firecracker's API socket to answer, for at most timeout, and no longer than the VMM
// lives or the request stands: a VMM (or jailer) that exited at once was waited for the whole
// 10 s, its reason unsaid (red team, 2026-12-06). SetupError naming its exit otherwise.
Expected<void> wait_for_api(FcApiClient& client, FcProcess& proc, const CancelToken& cancel,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace microvm::firecracker
