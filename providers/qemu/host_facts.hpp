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

// qemu-system-x86_64 from the setting or PATH, held to microvm::trusted_executable (the host
// runs it); its real path, or SetupError naming the setting and the fault (or the package).
Expected<std::string> find_qemu(const std::string& setting);

// The first line of `qemu -version` (a template snapshot is only valid for the QEMU that made
// it), followed by the binary's size and modification time (a rebuilt package).
Expected<std::string> qemu_identity(const std::string& qemu);

struct KvmProbe {
    bool usable = false;
    std::string why;  // why not (or "probe guest answered in N ms")
};

// The probe's record in the state directory (host::read_boot_record's format).
inline constexpr const char* kKvmProbeRecord = "kvm-probe";

// Whether KVM is usable for the image's guests: /dev/kvm must make a VM (host/kvm_device.hpp),
// and a guest booted under it with a short deadline must answer, once per host boot: that
// verdict is recorded in state_dir/kvm-probe (host/boot_cache.hpp: trusted, atomic, keyed by the
// boot id, the effective uid, the QEMU binary and identity and the image). state_dir must have
// passed check_state_dir() (qemu_vm.hpp).
KvmProbe probe_kvm_guest(const std::string& qemu, const std::string& qemu_id, const host::GuestImage& image,
                   const std::string& state_dir, uint64_t tsc_khz);

}  // namespace microvm::qemu
