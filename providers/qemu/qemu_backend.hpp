// The qemu SandboxBackend: each request runs in a fresh VM (restored from a template snapshot
// when the policy allows, else a cold boot of the guest image; docs/vm.md),
// driven over virtio-serial by host::AgentSession; the VM is killed when the run ends.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "host/cgroup.hpp"
#include "microvm/cancel.hpp"
#include "host/sandbox.hpp"
#include "host/guest_image.hpp"
#include "qemu/qemu_command.hpp"
#include "qemu/vm_template.hpp"

namespace microvm::qemu {

struct QemuSettings {
    std::string qemu;        // binary; empty: PATH
    std::string image;       // image directory; empty: $MICROVM_GUEST_IMAGE or the cache's current
    std::string state_dir = "/run/microvm-qemu";
    std::string cgroup_parent;
    std::string accel = "auto";  // auto (KVM when the probe guest runs), kvm, tcg
    uint64_t boot_timeout_ms = 30'000;
    // auto: restore each VM from a template snapshot when the policy allows (docs/vm.md, "Fast
    // starts"), else cold boot; cold: always cold boot.
    std::string start = "auto";
    std::string template_dir = kDefaultTemplateDir;
    // Restored VMs kept ready (agent waiting for its Setup) for the last restorable machine;
    // 0: none. Each serves one execution; a worker thread restores the next.
    unsigned pool_size = 0;
    // RLIMIT_FSIZE of QEMU: the largest file it writes on the host for its guest (a writable
    // 9p share's files), as the process providers cap their programs' (max_file_size_mb).
    uint64_t max_file_size_bytes = 1ull << 30;
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
    std::string qemu_identity;  // qemu_identity(): part of a template's key
};

// What availability() and the backend need; error: why the provider is unavailable.
Expected<HostSetup> probe_host(const QemuSettings& settings);

// Test hooks: called while a VM with shares is started, in the windows a local attacker would
// use to swap a share's directory (rename over it, or a symlink in its place), so that tests can
// make that race deterministic (qemu_shares.hpp).
struct ShareWindowHooks {
    std::function<void()> after_check;  // the shares were checked, not yet opened
    std::function<void()> before_qemu;  // opened, QEMU not yet started
};

class QemuBackend final : public host::SandboxBackend {
  public:
    static Expected<std::unique_ptr<QemuBackend>> create(const QemuSettings& settings);
    ~QemuBackend() override;
    Expected<host::SandboxReport> run(const host::SandboxRequest& request) const override;
    size_t sweep_stale() const override;
    std::string describe() const override;
    // The warm pool (pool_size): ready VMs, hits and misses of executions, failed restores.
    std::optional<ProviderPoolFigures> pool_figures() const override;
    // TESTS ONLY (no setting or CLI reaches it); set before any run.
    void set_share_window_hooks_for_tests(ShareWindowHooks hooks) { test_hooks_ = std::move(hooks); }

  private:
    struct Started;
    struct Pool;
    QemuBackend(QemuSettings s, HostSetup h, std::unique_ptr<host::CgroupManager> cg);
    // A pooled VM for this machine and CPU share, its agent set up now for spec (its network);
    // nullopt when none.
    std::optional<Started> take_pooled(const std::string& key, const VmSpec& spec, double cpu_fraction,
                                       const CancelToken& cancel,
                                       std::chrono::steady_clock::time_point deadline) const;
    // Asks the pool's worker to keep VMs of this machine ready.
    void want_pooled(const VmSpec& spec, const host::CgroupLimits& limits) const;
    void pool_worker() const;
    // TCG: runs the host's warm-up programs in a pooled VM before its Setup.
    Expected<void> warm_up(Started& vm) const;
    // Why the pool's worker could not restore its last VM (empty: it could, or there is no pool).
    std::string pool_problem() const;
    // Why a VM of this spec cannot be restored from a template (empty: it can).
    std::string restore_refusal(const VmSpec& spec) const;
    // A fresh VM restored from the spec's template (built first when there is none), its agent
    // set up; an error says why not (the caller then boots cold).
    // set_up false: the agent is left waiting for its Setup (a pooled VM).
    Expected<Started> restore(const VmSpec& spec, const host::CgroupLimits& limits,
                              std::chrono::steady_clock::time_point deadline, const CancelToken& cancel,
                              std::map<std::string, std::string>& details, bool set_up = true) const;
    // A VM of spec restored from the template state in state_fd, its agent set up.
    Expected<Started> restore_from(const VmSpec& spec, int state_fd, const host::CgroupLimits& limits,
                                   std::chrono::steady_clock::time_point deadline,
                                   const CancelToken& cancel, bool set_up) const;
    // Boots a VM of spec to its agent's Hello and saves it as the key's template.
    Expected<void> build_template(const VmSpec& spec, const std::string& key,
                                  std::chrono::steady_clock::time_point deadline) const;

    QemuSettings settings_;
    HostSetup host_;
    std::unique_ptr<host::CgroupManager> cgroups_;
    std::unique_ptr<TemplateStore> templates_;
    mutable std::mutex build_mutex_;  // one template build at a time in this process
    std::unique_ptr<Pool> pool_;      // null when pool_size is 0
    ShareWindowHooks test_hooks_;
};

}  // namespace microvm::qemu
