#include "qemu/qemu_command.hpp"

namespace microvm::qemu {
namespace {

// QEMU's option parser splits on commas; a comma in a value is doubled.
std::string escaped(const std::string& value) {
    std::string out;
    for (char c : value) {
        out += c;
        if (c == ',') out += ',';
    }
    return out;
}

}  // namespace

std::vector<std::string> qemu_argv(const VmSpec& s, const std::string& vm_dir) {
    std::vector<std::string> a = {
        s.qemu,
        "-M", "microvm,acpi=" + s.image.microvm_acpi,
        "-accel", s.kvm ? "kvm" : "tcg",
        "-cpu", s.kvm ? "host" : "max",
        "-smp", "1",
        "-m", std::to_string(s.ram_mb),
        "-nodefaults", "-no-user-config", "-no-reboot",
        "-display", "none", "-monitor", "none",
        // The guest's console goes nowhere: a hostile guest could otherwise fill a file.
        "-serial", "null",
        // No new privileges, no fork/exec, no resource or namespace changes: what a guest that
        // took over QEMU can do is what this process may.
        "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
        "-kernel", s.image.kernel,
        "-initrd", s.image.initramfs,
        "-append",
        "console=ttyS0 quiet reboot=t panic=-1 tsc_early_khz=" + std::to_string(s.tsc_khz) +
            " tsc=reliable no_timer_check",
        "-device", "virtio-serial-device",
        "-chardev", "socket,id=agent,fd=" + std::to_string(kAgentFd),
        "-device", "virtserialport,chardev=agent,name=agent",
        "-device", "virtio-rng-device",
    };
    for (size_t n = 0; n < s.shares.size(); ++n) {
        const ShareSpec& sh = s.shares[n];
        const std::string id = "fs" + std::to_string(n);
        // The inherited descriptor of the checked directory: QEMU's open of its magic link
        // reaches that directory whatever has been put at the policy's path since.
        const std::string root = "/proc/self/fd/" + std::to_string(kShareFdBase + static_cast<int>(n));
        a.insert(a.end(), {"-fsdev", "local,id=" + id + ",path=" + root + ",security_model=none" +
                                         (sh.writable ? "" : ",readonly=on"),
                           "-device", "virtio-9p-device,fsdev=" + id + ",mount_tag=" + sh.tag});
    }
    if (s.qmp) {
        a.insert(a.end(), {"-qmp", "unix:" + escaped(vm_dir + "/" + kQmpSocket) + ",server=on,wait=off"});
    }
    if (s.incoming) a.insert(a.end(), {"-incoming", "fd:" + std::to_string(kStateFd)});
    if (s.user_network) {
        a.insert(a.end(), {"-netdev", "user,id=n0", "-device", "virtio-net-device,netdev=n0"});
    } else if (s.egress) {
        a.insert(a.end(), {"-netdev", "tap,id=n0,fd=" + std::to_string(kEgressTapFd), "-device",
                           "virtio-net-device,netdev=n0"});
    }
    return a;
}

}  // namespace microvm::qemu
