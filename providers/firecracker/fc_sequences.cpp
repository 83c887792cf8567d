#include "firecracker/fc_sequences.hpp"

#include <algorithm>

namespace microvm::firecracker {

FcExpected<void> cold_boot(FcApiClient& client, const ColdBoot& plan) {
    bool has_root = std::any_of(plan.drives.begin(), plan.drives.end(),
                                [](const Drive& d) { return d.is_root_device; });
    if (!plan.boot_source.initrd_path && !has_root) {
        return fc_fail(FcError::Kind::InvalidRequest, "cold boot",
                       "neither an initrd nor a root drive: the guest has nothing to run");
    }
    if (plan.logger) RTFS_CHECK(client.put_logger(*plan.logger));
    if (plan.metrics) RTFS_CHECK(client.put_metrics(*plan.metrics));
    RTFS_CHECK(client.put_boot_source(plan.boot_source));
    RTFS_CHECK(client.put_machine_config(plan.machine));
    for (const Drive& d : plan.drives) RTFS_CHECK(client.put_drive(d));
    if (plan.vsock) RTFS_CHECK(client.put_vsock(*plan.vsock));
    return client.instance_start();
}

FcExpected<void> snapshot_vm(FcApiClient& client, const SnapshotCreate& files, bool resume_after) {
    RTFS_CHECK(client.pause());
    RTFS_CHECK(client.create_snapshot(files));
    if (resume_after) RTFS_CHECK(client.resume());
    return Ok{};
}

FcExpected<void> restore_vm(FcApiClient& client, const Restore& plan) {
    if (plan.logger) RTFS_CHECK(client.put_logger(*plan.logger));
    if (plan.metrics) RTFS_CHECK(client.put_metrics(*plan.metrics));
    RTFS_CHECK(client.load_snapshot(plan.load));
    if (!plan.load.resume_vm) RTFS_CHECK(client.resume());
    return Ok{};
}

}  // namespace microvm::firecracker
