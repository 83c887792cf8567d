// The call sequences a provider drives, in the order Firecracker requires, stopping at the first
// failure (whose FcError names the call). The process itself is the caller's: on failure it
// kills the VM, since a half-configured Firecracker cannot be reconfigured after a start.
#pragma once

#include <optional>
#include <vector>

#include "firecracker/fc_api_client.hpp"

namespace microvm::firecracker {

struct ColdBoot {
    std::optional<Logger> logger;    // first: they are the only calls allowed at any time
    std::optional<Metrics> metrics;
    BootSource boot_source;
    MachineConfig machine;
    std::vector<Drive> drives;       // the root file system, when not booting from an initrd
    std::optional<VsockDevice> vsock;
};

// logger, metrics, boot-source, machine-config, drives, vsock, InstanceStart. InvalidRequest
// (nothing sent) when there is neither an initrd nor a root drive: the guest would have no
// userspace to run the agent.
FcExpected<void> cold_boot(FcApiClient& client, const ColdBoot& plan);

// Pauses the running VM, writes a Full snapshot, then resumes it when resume_after (else it stays
// paused, e.g. to be killed once it has served as a pool template).
FcExpected<void> snapshot_vm(FcApiClient& client, const SnapshotCreate& files, bool resume_after);

struct Restore {
    std::optional<Logger> logger;
    std::optional<Metrics> metrics;
    SnapshotLoad load;  // on a fresh process: nothing but logger and metrics before it
};

// logger, metrics, snapshot/load; then PATCH /vm Resumed unless load.resume_vm already did.
FcExpected<void> restore_vm(FcApiClient& client, const Restore& plan);

}  // namespace microvm::firecracker
