// The QEMU command line of one VM (docs/vm.md has what each part is for).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/guest_image.hpp"

namespace microvm::qemu {

struct ShareSpec {
    std::string tag;        // 9p mount tag (s0, s1, ...)
    std::string host_path;  // exported directory
    bool writable = false;
};

struct VmSpec {
    std::string qemu;
    host::GuestImage image;
    uint64_t tsc_khz = 0;
    bool kvm = false;
    uint64_t ram_mb = 256;
    std::vector<ShareSpec> shares;
    bool user_network = false;  // QEMU user networking; false: no network device at all
    // Allow/block lists: a virtio-net device on the tap device of egress_link.hpp, passed to
    // QEMU as descriptor kEgressTapFd (not with user_network).
    bool egress = false;
    bool qmp = false;           // a QMP control socket (snapshots: the template and restores)
    bool incoming = false;      // -incoming defer: the VM waits for a migrate-incoming over QMP
};

// The descriptor QEMU finds the egress tap device on.
inline constexpr int kEgressTapFd = 3;

// Paths inside the VM's private directory.
inline constexpr const char* kAgentSocket = "agent.sock";
inline constexpr const char* kQmpSocket = "qmp.sock";

std::vector<std::string> qemu_argv(const VmSpec& spec, const std::string& vm_dir);

}  // namespace microvm::qemu
