// Whether this host can run a KVM guest at all: the device opens, speaks the stable KVM API
// (version 12) and creates a VM. Opening /dev/kvm is not enough: in a container or a nested VM
// without virtualization the node may exist while KVM_CREATE_VM fails. (Whether a guest then
// runs at speed is another question: qemu's probe_kvm_guest boots one.) Firecracker and qemu.
#pragma once

#include <string>

namespace microvm::host {

struct KvmDevice {
    bool usable = false;
    std::string reason;  // why not, naming the device and the step
};

KvmDevice probe_kvm_device(const std::string& device = "/dev/kvm");

}  // namespace microvm::host
