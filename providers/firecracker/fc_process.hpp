// The Firecracker process of one VM (or the jailer that becomes it), as an RAII object: started
// with nothing of the host's, killed and reaped on destruction, its directory removed after.
// Nothing of the host's: Firecracker ties the guest's serial console to its stdout and reads
// its stdin, so the guest wrote past every output cap into the CLI's stdout (ahead of its
// --json result) or microvmd's journal, and read the caller's terminal or pipe (red team,
// 2026-12-05). Its 0, 1 and 2 are /dev/null and it inherits no other descriptor.
#pragma once

#include <string>

#include "firecracker/fc_launch.hpp"
#include "host/child_process.hpp"
#include "microvm/error.hpp"

namespace microvm::firecracker {

struct FcProcess {
    host::ChildProcess vmm;
    std::string dir;  // the VM's private directory (make_vm_dir), removed once vmm is reaped
    FcProcess() = default;
    FcProcess(const FcProcess&) = delete;
    FcProcess& operator=(const FcProcess&) = delete;
    ~FcProcess();
};

// Starts plan's command as proc.vmm.
Expected<void> start_vmm(const LaunchPlan& plan, FcProcess& proc);

}  // namespace microvm::firecracker
