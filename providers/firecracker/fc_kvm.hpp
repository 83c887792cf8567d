// Whether this host can run a KVM guest at all: the device opens, speaks the stable KVM API
// (version 12) and creates a VM. Opening /dev/kvm is not enough: in a container or a nested VM
// without virtualization the node may exist while KVM_CREATE_VM fails.
#pragma once

#include <string>

namespace microvm::firecracker {

struct KvmProbe {
    bool usable = false;
    std::string reason;  // why not, naming the device and the step
};

KvmProbe probe_kvm(const std::string& device = "/dev/kvm");

}  // namespace microvm::firecracker
