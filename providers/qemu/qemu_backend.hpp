// The qemu SandboxBackend: each request runs in a fresh VM (cold boot of the guest image),
// driven over virtio-serial by host::AgentSession; the VM is killed when the run ends.
#pragma once

#include <string>

#include "host/cgroup.hpp"
#include "host/sandbox.hpp"
#include "host/guest_image.hpp"

namespace microvm::qemu {

struct QemuSettings {
    std::string qemu;        // binary; empty: PATH
    std::string image;       // image directory; empty: $MICROVM_GUEST_IMAGE or the cache's current
    std::string state_dir = "/run/microvm-qemu";
    std::string cgroup_parent;
    std::string accel = "auto";  // auto (KVM when the probe guest runs), kvm, tcg
    uint64_t boot_timeout_ms = 30'000;
};

// Guest RAM beyond the execution's memory limit: the guest kernel and the agent.
inline constexpr uint64_t kGuestReserveMb = 64;
// Host memory beyond the guest's RAM that QEMU itself may use (its cgroup limit).
inline constexpr uint64_t kVmmOverheadBytes = 256ull << 20;

struct HostSetup {
    std::string qemu;
    host::GuestImage image;
    uint64_t tsc_khz = 0;
    bool kvm = false;
    std::string accel_why;
};

// What availability() and the backend need; error: why the provider is unavailable.
Expected<HostSetup> probe_host(const QemuSettings& settings);

class QemuBackend final : public host::SandboxBackend {
  public:
    static Expected<std::unique_ptr<QemuBackend>> create(const QemuSettings& settings);
    Expected<host::SandboxReport> run(const host::SandboxRequest& request) const override;
    size_t sweep_stale() const override;
    std::string describe() const override;
    const HostSetup& host_setup() const { return host_; }

  private:
    QemuBackend(QemuSettings s, HostSetup h, std::unique_ptr<host::CgroupManager> cg)
        : settings_(std::move(s)), host_(std::move(h)), cgroups_(std::move(cg)) {}
    QemuSettings settings_;
    HostSetup host_;
    std::unique_ptr<host::CgroupManager> cgroups_;
};

}  // namespace microvm::qemu
