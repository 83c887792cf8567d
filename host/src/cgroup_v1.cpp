// cgroup v1: one directory per hierarchy (memory, cpu, cpuacct, pids; some may share one).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "host/cgroup.hpp"
#include "microvm/config.hpp"
#include "host/cgroup_fs.hpp"
#include "host/cgroup_open.hpp"
#include "host/cgroup_record.hpp"
#include "host/paths.hpp"
#include "host/sys_error.hpp"
#include "host/unique_fd.hpp"

namespace microvm::host {

namespace {

namespace fs = cgroupfs;


class CgroupV1 final : public SandboxCgroup {
  public:
    // Usually nothing is left inside (a sandbox's init is reaped first, and its pid namespace
    // with it): the directories go at once, without reading each hierarchy's process list. A
    // directory still busy has its processes killed and is removed once they are gone.
    ~CgroupV1() override {
        join_.clear();
        bool busy = false;
        for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
            if (::rmdir(it->c_str()) != 0 && errno != ENOENT) busy = true;
        }
        if (!busy) return;
        kill_all();
        bool gone = true;
        for (auto it = created_.rbegin(); it != created_.rend(); ++it) gone = fs::remove_cgroup(*it) && gone;
        if (!gone) record.keep();  // for a later sweep
    }

    // Takes the cgroup's directory in each hierarchy (cpuacct may be empty; some may be the
    // same directory): make creates them, and a failure leaves nothing behind; otherwise they
    // exist already. Either way they are this object's from here on, removed on destruction.
    Expected<void> take(const CgroupV1Dirs& dirs, bool make) {
        memory_ = dirs.memory;
        cpu_ = dirs.cpu;
        cpuacct_ = dirs.cpuacct;
        pids_ = dirs.pids;
        name_ = memory_.substr(memory_.rfind('/') + 1);
        for (const std::string* dir : {&memory_, &cpu_, &cpuacct_, &pids_}) {
            if (dir->empty() ||
                std::find(created_.begin(), created_.end(), *dir) != created_.end()) {
                continue;
            }
            if (make) RTFS_CHECK(make_new(*dir));
            created_.push_back(*dir);
        }
        return Ok{};
    }

    // A sandbox's cgroup is always made here: one that exists already is another process's,
    // whose owner could rewrite the control files while the sandbox runs (red team,
    // 2026-12-06: made ahead under a predictable name, it was taken and every limit lifted).
    // Its parent is made when missing (a cgroup_parent not made yet).
    static Expected<void> make_new(const std::string& dir) {
        if (::mkdir(dir.c_str(), 0755) == 0) return Ok{};
        if (errno == ENOENT) {
            RTFS_CHECK(fs::make_dirs(parent_path(dir)));
            if (::mkdir(dir.c_str(), 0755) == 0) return Ok{};
        }
        if (errno == EEXIST) {
            return fail(Failure::Kind::SetupError,
                        "cgroup " + dir + " exists already: another process made it, and a sandbox's cgroup is always new");
        }
        return sys_failure("mkdir " + dir, errno);
    }

    Expected<void> set_limits(const CgroupLimits& limits) {
        std::string bytes = std::to_string(limits.memory_bytes);
        RTFS_CHECK(fs::write_file(memory_ + "/memory.limit_in_bytes", bytes));
        // With swap accounting, memory+swap gets the same limit: no escaping into swap.
        if (fs::exists(memory_ + "/memory.memsw.limit_in_bytes")) {
            RTFS_CHECK(fs::write_file(memory_ + "/memory.memsw.limit_in_bytes", bytes));
        }
        // Without it, the limit's reclaim swapped the sandbox's memory out and it held the
        // limit plus all of swap (red team, 2026-12-06): at swappiness 0 a cgroup's own reclaim
        // takes only file pages. Written either way: nothing of a sandbox is worth swapping.
        RTFS_CHECK(fs::write_file(memory_ + "/memory.swappiness", "0"));
        // A new cgroup copies its parent's oom_kill_disable: under a parent made with it (a
        // `docker run --oom-kill-disable` one), a program at its limit hung until the deadline
        // instead of being killed (red team, 2026-12-06).
        RTFS_CHECK(fs::write_file(memory_ + "/memory.oom_control", "0"));
        // Socket buffers (TCP and UDP) are charged to a v1 cgroup only once its TCP limit is
        // set, to a counter of their own; unset, they fill the host-wide tcp_mem/udp_mem pools
        // unbounded. Written before anything joins: a socket is tied to its creator's cgroup.
        RTFS_CHECK(fs::write_file(memory_ + "/memory.kmem.tcp.limit_in_bytes", bytes));
        RTFS_CHECK(fs::write_file(cpu_ + "/cpu.cfs_period_us", std::to_string(kCpuPeriodUs)));
        RTFS_CHECK(limit_cpu(limits.cpu_fraction));
        RTFS_CHECK(fs::write_file(pids_ + "/pids.max", std::to_string(limits.max_pids)));
        return Ok{};
    }

    Expected<void> limit_cpu(double fraction) override {
        return fs::write_file(cpu_ + "/cpu.cfs_quota_us", std::to_string(cpu_quota_us(fraction)));
    }

    Expected<void> open_join_files() {
        for (const std::string& dir : created_) {
            std::string path = dir + "/tasks";
            UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
            if (!fd.valid()) return sys_failure("open " + path, errno);
            join_.push_back(std::move(fd));
        }
        return Ok{};
    }

    std::vector<int> self_join_fds() const override {
        std::vector<int> fds;
        for (const UniqueFd& fd : join_) fds.push_back(fd.get());
        return fds;
    }

    CgroupUsage usage() const override {
        CgroupUsage u;
        if (!cpuacct_.empty()) {
            if (auto ns = fs::read_number(cpuacct_ + "/cpuacct.usage")) {
                u.cpu_time = std::chrono::nanoseconds(*ns);
            }
        }
        if (auto stat = fs::read_file(cpu_ + "/cpu.stat")) {
            if (auto t = fs::parse_cpu_throttling(*stat))
                u.cpu_throttling = fs::throttling_since(*t, throttling_base_);
        }
        u.memory_peak_bytes = memory_peak();
        u.oom_kills = fs::count_since(oom_kills(), oom_kills_base_);
        u.pids_limit_hits = fs::count_since(pids_limit_hits(), pids_limit_hits_base_);
        return u;
    }

    // Both counters take a write of 0 as a reset; cpu.stat cannot be reset: where it stood is
    // remembered.
    void restart_measurements() override {
        if (!cpuacct_.empty()) (void)fs::write_file(cpuacct_ + "/cpuacct.usage", "0");
        if (auto stat = fs::read_file(cpu_ + "/cpu.stat"))
            throttling_base_ = fs::parse_cpu_throttling(*stat).value_or(CpuThrottling{});
        (void)fs::write_file(memory_ + "/memory.max_usage_in_bytes", "0");
        (void)fs::write_file(memory_ + "/memory.kmem.tcp.max_usage_in_bytes", "0");
        // Event counts cannot be reset either: an OOM kill or a refused fork while the sandbox
        // was built would otherwise be the execution's.
        oom_kills_base_ = oom_kills();
        pids_limit_hits_base_ = pids_limit_hits();
    }

    void kill_all() override {
        // A throttled task dies only once it runs: at a small share the kill waited for the
        // next periods (a 2 s timeout ended after 2.2 s, gVisor's after 2.5 s; red team,
        // 2026-12-07). Whatever is killed may use the CPU it needs to end.
        (void)fs::write_file(cpu_ + "/cpu.cfs_quota_us", "-1");
        for (const std::string& dir : created_) fs::kill_processes(dir);
    }

    std::string name() const override { return name_; }

  private:
    uint64_t oom_kills() const { return fs::read_keyed(memory_ + "/memory.oom_control", "oom_kill").value_or(0); }
    uint64_t pids_limit_hits() const { return fs::read_keyed(pids_ + "/pids.events", "max").value_or(0); }

    // Memory and socket buffers peak on counters of their own, maybe at different times: their
    // sum bounds the sandbox's peak from above, and hides neither.
    std::optional<uint64_t> memory_peak() const {
        const auto memory = fs::read_number(memory_ + "/memory.max_usage_in_bytes");
        const auto sockets = fs::read_number(memory_ + "/memory.kmem.tcp.max_usage_in_bytes");
        if (!memory || !sockets) return std::nullopt;
        return *memory + *sockets;
    }

    std::string name_, memory_, cpu_, cpuacct_, pids_;
    CpuThrottling throttling_base_;
    uint64_t oom_kills_base_ = 0, pids_limit_hits_base_ = 0;  // at restart_measurements()
    std::vector<std::string> created_;
    std::vector<UniqueFd> join_;

  public:
    CgroupRecord record;  // dropped after the directories (members go after the destructor's body)
};

Expected<std::unique_ptr<SandboxCgroup>> limit_cgroup_v1(const CgroupV1Dirs& dirs,
                                                         const CgroupLimits& limits, bool make,
                                                         CgroupRecord record = {}) {
    auto cg = std::make_unique<CgroupV1>();
    cg->record = std::move(record);
    RTFS_CHECK(cg->take(dirs, make));
    RTFS_CHECK(cg->set_limits(limits));
    RTFS_CHECK(cg->open_join_files());
    return std::unique_ptr<SandboxCgroup>(std::move(cg));
}

class CgroupV1Manager final : public CgroupManager {
  public:
    CgroupV1Manager(std::string memory, std::string cpu, std::string cpuacct, std::string pids,
                    std::string_view prefix)
        : memory_(std::move(memory)),
          cpu_(std::move(cpu)),
          cpuacct_(std::move(cpuacct)),
          pids_(std::move(pids)),
          prefix_(prefix) {}

    int version() const override { return 1; }

    std::string describe() const override {
        return "cgroup v1 (memory " + memory_ + ", cpu " + cpu_ +
               (cpuacct_.empty() ? std::string() : ", cpuacct " + cpuacct_) + ", pids " + pids_ +
               ")";
    }

    Expected<std::unique_ptr<SandboxCgroup>> create(const CgroupLimits& limits) override {
        const std::string name = fs::new_cgroup_name(prefix_);
        auto in = [&](const std::string& parent) {
            return parent.empty() ? std::string() : parent + "/" + name;
        };
        const CgroupV1Dirs dirs{in(memory_), in(cpu_), in(cpuacct_), in(pids_)};
        auto record = CgroupRecord::note(name, {dirs.memory, dirs.cpu, dirs.cpuacct, dirs.pids});
        auto made = limit_cgroup_v1(dirs, limits, /*make=*/true, std::move(record));
        if (made) return made;
        // The kernel says only EINVAL: say which setting and why (looked up on failure only).
        if (const double ceiling = cpu_ceiling(); limits.cpu_fraction > ceiling) {
            return fail(Failure::Kind::InvalidConfig,
                        "a CPU share of " + format_cpu_share(limits.cpu_fraction) +
                            " is above the quota of the cgroup parent " + cpu_ + " or one above it (" +
                            format_cpu_share(ceiling) + " CPUs), which cgroup v1 refuses: lower cpu_limit or raise that quota");
        }
        return made;
    }

    // The lowest quota of the parent and its ancestors up to the hierarchy's root ("-1": none),
    // as a share whose quota at kCpuPeriodUs is rounded down: the kernel compares the shares,
    // and one rounded up at another period than the ancestor's was refused (a review).
    // (Ancestors above this cgroup namespace's root are not seen; their quota still throttles.)
    double cpu_ceiling() const override {
        double ceiling = std::numeric_limits<double>::infinity();
        for (std::string dir = cpu_; !dir.empty() && fs::exists(dir + "/cpu.cfs_quota_us");
             dir = dir.substr(0, dir.rfind('/'))) {
            const auto quota = fs::read_number(dir + "/cpu.cfs_quota_us");
            const auto period = fs::read_number(dir + "/cpu.cfs_period_us");
            if (!quota || !period || *period == 0) continue;
            const uint64_t quota_at_our_period = (*quota * kCpuPeriodUs) / *period;
            ceiling = std::min(ceiling, double(quota_at_our_period) / double(kCpuPeriodUs));
        }
        return ceiling;
    }

    size_t sweep_stale() override {
        std::vector<std::string> parents;
        for (const std::string* p : {&memory_, &cpu_, &cpuacct_, &pids_}) {
            if (!p->empty() && std::find(parents.begin(), parents.end(), *p) == parents.end()) {
                parents.push_back(*p);
            }
        }
        size_t removed = 0;
        for (const std::string& p : parents) removed += fs::sweep_stale(p, prefix_);
        return removed + sweep_recorded_cgroups(prefix_);
    }

  private:
    std::string memory_, cpu_, cpuacct_, pids_;
    std::string prefix_;
};

}  // namespace

Expected<std::unique_ptr<SandboxCgroup>> open_cgroup_v1(const CgroupV1Dirs& dirs,
                                                        const CgroupLimits& limits) {
    return limit_cgroup_v1(dirs, limits, /*make=*/false);
}

std::unique_ptr<CgroupManager> make_cgroup_v1(std::string memory_dir, std::string cpu_dir,
                                              std::string cpuacct_dir, std::string pids_dir,
                                              std::string_view name_prefix) {
    return std::make_unique<CgroupV1Manager>(std::move(memory_dir), std::move(cpu_dir),
                                             std::move(cpuacct_dir), std::move(pids_dir),
                                             name_prefix);
}

}  // namespace microvm::host
