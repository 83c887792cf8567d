#include "host/kvm_device.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cerrno>

#include "host/sys_error.hpp"
#include "host/unique_fd.hpp"

namespace microvm::host {

KvmDevice probe_kvm_device(const std::string& device) {
    // O_NONBLOCK: a FIFO planted at the path must not block the probe.
    UniqueFd kvm(::open(device.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK));
    if (!kvm.valid()) {
        return {false, device + " cannot be opened: " + errno_text(errno)};
    }
    int version = ::ioctl(kvm.get(), KVM_GET_API_VERSION, 0);
    if (version < 0) {
        return {false, device + " is not a KVM device (KVM_GET_API_VERSION: " +
                           errno_text(errno) + ")"};
    }
    if (version != KVM_API_VERSION) {
        return {false, device + " speaks KVM API version " + std::to_string(version) +
                           ", not " + std::to_string(KVM_API_VERSION)};
    }
    UniqueFd vm(::ioctl(kvm.get(), KVM_CREATE_VM, 0));
    if (!vm.valid()) {
        return {false, device + " cannot create a VM (KVM_CREATE_VM: " +
                           errno_text(errno) + ")"};
    }
    return {true, {}};
}

}  // namespace microvm::host
