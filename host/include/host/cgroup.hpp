// Per-execution cgroups: memory limit (and its peak and OOM kills), CPU quota (and CPU time),
// pids limit. One interface over cgroup v1 (a hierarchy per controller) and v2 (the unified
// hierarchy); which one is detected from the host's mounts. Each sandbox cgroup is an RAII
// object: destroying it kills whatever is left inside and removes the directory. Cgroups are
// named after their owner (host::owned_name: "microvm-process-<pid>.<pid namespace>-<n>") so
// that those of a crashed host can be swept, and never a live one's of another pid namespace.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "microvm/error.hpp"
#include "host/cgroup_fs.hpp"

namespace microvm::host {

// CPU share as a CFS quota per period of kCpuPeriodUs. The kernel takes no quota below
// kMinCpuQuotaUs (1 ms), so fractions below kMinCpuFraction cannot be enforced: providers refuse
// them up front (refuse_cpu_below_quota_floor) rather than have them silently raised.
inline constexpr uint64_t kCpuPeriodUs = 100000;
inline constexpr uint64_t kMinCpuQuotaUs = 1000;
inline constexpr double kMinCpuFraction = double(kMinCpuQuotaUs) / double(kCpuPeriodUs);
uint64_t cpu_quota_us(double fraction);

struct CgroupLimits {
    uint64_t memory_bytes = 512ull << 20;
    double cpu_fraction = 1.0;  // of one CPU
    uint32_t max_pids = 256;
    bool operator==(const CgroupLimits&) const = default;
};

struct CgroupUsage {
    std::optional<std::chrono::nanoseconds> cpu_time;
    std::optional<CpuThrottling> cpu_throttling;  // cpu.stat's bandwidth counters
    std::optional<uint64_t> memory_peak_bytes;
    uint64_t oom_kills = 0;
    uint64_t pids_limit_hits = 0;  // forks the pids controller refused (pids.events "max")
};

class SandboxCgroup {
  public:
    virtual ~SandboxCgroup() = default;
    // How the sandbox's init gets in without the host migrating it (a migration by pid waits
    // for an RCU grace period, milliseconds, on every start):
    // v2: a directory descriptor for clone3's CLONE_INTO_CGROUP (-1 on v1);
    virtual int clone_fd() const { return -1; }
    // v1: the "tasks" file of each hierarchy, opened for writing; the init writes "0" to each,
    // which moves just itself and skips the global threadgroup lock.
    virtual std::vector<int> self_join_fds() const { return {}; }
    // v2, when the init could not be cloned into the cgroup (its creator had no right to):
    // moves it there by pid, before it runs anything of its own.
    virtual Expected<void> place(pid_t) const { return Ok{}; }
    // Called periodically while the sandbox runs, for counters the kernel does not keep.
    virtual void sample() {}
    virtual CgroupUsage usage() const = 0;
    // A sandbox built ahead (a warm pool's): from here on usage() counts only what follows, so
    // the program is not charged with its sandbox's preparation. CPU time and throttling always
    // restart; the
    // memory peak restarts on v1 and where v2 allows (memory.peak written, Linux 6.12+, or the
    // sampled peak); elsewhere it still includes the preparation's few pages.
    virtual void restart_measurements() = 0;
    // A new CPU share (CgroupLimits::cpu_fraction) from here on: a VMM starts at the share of its
    // setup and gets the program's once the program is about to run.
    virtual Expected<void> limit_cpu(double fraction) = 0;
    virtual void kill_all() = 0;
    // The cgroup's directory name, the same in every hierarchy (its path relative to the
    // parent), for runtimes that are handed an existing cgroup (gvisor's linux.cgroupsPath).
    virtual std::string name() const = 0;
};

class CgroupManager {
  public:
    virtual ~CgroupManager() = default;
    virtual int version() const = 0;
    virtual std::string describe() const = 0;
    virtual Expected<std::unique_ptr<SandboxCgroup>> create(const CgroupLimits& limits) = 0;
    // The largest CPU share (CgroupLimits::cpu_fraction) a cgroup made here may be given: v1
    // refuses a quota above any ancestor's (EINVAL); v2 takes any and throttles by the
    // ancestors', so there, and where no ancestor has a quota, it is unbounded (infinity).
    virtual double cpu_ceiling() const;
    // Removes cgroups left by dead hosts (owner pid gone), below the parent and wherever their
    // notes say (cgroup_record.hpp: a killed host of another parent); returns how many.
    virtual size_t sweep_stale() = 0;
};

// The CPU share a sandbox gets while its runtime sets it up (a VMM's boot, gVisor's sentry and
// gofer starting), which is not the program's work: wanted, within cgroups' ceiling, and never
// below the program's own share. The caller sets the program's share before the program starts.
double setup_cpu_share(const CgroupManager& cgroups, double wanted, double program_share);

// parent: the cgroup (path from each hierarchy's root) that holds the sandboxes' cgroups;
// empty: this process's own cgroup. SetupError naming the reason when no usable cgroup
// hierarchy with the memory, cpu and pids controllers exists. Sandbox cgroups are named
// "<name_prefix><owner pid>-<n>" (each provider sweeps its own).
Expected<std::unique_ptr<CgroupManager>> detect_cgroups(
    const std::string& parent, std::string_view name_prefix = cgroupfs::kNamePrefix);

std::unique_ptr<CgroupManager> make_cgroup_v1(std::string memory_dir, std::string cpu_dir,
                                              std::string cpuacct_dir, std::string pids_dir,
                                              std::string_view name_prefix = cgroupfs::kNamePrefix);
std::unique_ptr<CgroupManager> make_cgroup_v2(std::string parent_dir,
                                              std::string_view name_prefix = cgroupfs::kNamePrefix);

}  // namespace microvm::host
