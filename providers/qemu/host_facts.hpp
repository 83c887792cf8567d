// What the qemu provider needs to know about the host: the TSC rate the microvm guest needs
// (tsc_early_khz: microvm has no PIT to calibrate against), the QEMU binary, and whether KVM
// really runs a guest (probed once per boot: /dev/kvm of a PVM host opens but hangs guests).
#pragma once

#include <cstdint>
#include <string>

#include "microvm/error.hpp"
#include "host/guest_image.hpp"

namespace microvm::qemu {

// kHz from the kernel log's "tsc: Detected/Refined ... MHz", else /proc/cpuinfo's "cpu MHz".
Expected<uint64_t> host_tsc_khz();

// qemu-system-x86_64 from the setting or PATH; error naming the package.
Expected<std::string> find_qemu(const std::string& setting);

// The first line of `qemu -version` (a template snapshot is only valid for the QEMU that made
// it), followed by the binary's size and modification time (a rebuilt package).
Expected<std::string> qemu_identity(const std::string& qemu);

struct KvmProbe {
    bool usable = false;
    std::string why;  // why not (or "probe guest answered in N ms")
};

// Boots the image under KVM with a short deadline, once per host boot (cached in
// state_dir/kvm-probe, keyed by the boot id). Never called when /dev/kvm cannot be opened.
KvmProbe probe_kvm(const std::string& qemu, const host::GuestImage& image, const std::string& state_dir,
                   uint64_t tsc_khz);

}  // namespace microvm::qemu
