// The QEMU command line of one VM (docs/vm.md has what each part is for).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/guest_image.hpp"

namespace microvm::qemu {

struct ShareSpec {
    std::string tag;        // 9p mount tag (s0, s1, ...)
    std::string host_path;  // the policy's path: where the guest mounts it
    bool writable = false;
    // The checked directory (O_PATH, qemu_shares.hpp), QEMU's descriptor kShareFdBase + the
    // share's index; QEMU exports /proc/self/fd/<that>, never host_path, which may have been
    // swapped since the check.
    int fd = -1;
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
    bool qmp = false;           // a QMP control socket (the template's build: its migrate)
    // -incoming fd:kStateFd: QEMU loads the template's state from the descriptor it was started
    // with and runs the VM once loaded, no QMP round trip (it exits when the stream does not load).
    bool incoming = false;
    // RLIMIT_FSIZE of QEMU (SIGXFSZ ignored: a write beyond it fails with EFBIG in the guest);
    // 0: none, for a template's build, whose QEMU writes the state file. Not part of QEMU's
    // command line, so not of a template's key.
    uint64_t max_file_size_bytes = 0;
};

// The descriptors QEMU is started with (every other one is closed): the egress tap device, the
// host's end-to-be of the agent's channel (one end of a connected socket pair: the chardev is
// connected before QEMU runs anything, so the guest never sees its port closed and the host never
// polls for a socket), a restore's state file, then one per share (VmSpec::shares, in order).
inline constexpr int kEgressTapFd = 3;
inline constexpr int kAgentFd = 4;
inline constexpr int kStateFd = 5;
inline constexpr int kShareFdBase = 6;
// The microvm machine's virtio-mmio transports, and the devices every VM has (the agent's
// serial port, the RNG): what is left holds the network device, if any, and the shares.
inline constexpr size_t kVirtioTransports = 8;
inline constexpr size_t kFixedVirtioDevices = 2;

// Path inside the VM's private directory.
inline constexpr const char* kQmpSocket = "qmp.sock";

std::vector<std::string> qemu_argv(const VmSpec& spec, const std::string& vm_dir);

}  // namespace microvm::qemu
