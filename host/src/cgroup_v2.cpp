// cgroup v2: one directory in the unified hierarchy; the init is cloned straight into it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <optional>

#include "host/cgroup.hpp"
#include "host/cgroup_fs.hpp"
#include "host/cgroup_open.hpp"
#include "host/cgroup_record.hpp"
#include "host/sys_error.hpp"
#include "host/unique_fd.hpp"

namespace microvm::host {

namespace {

namespace fs = cgroupfs;


// Whether the kernel's list of swap areas (/proc/swaps: a header line, then one per area) names
// one. Missing, the kernel has no swap at all (CONFIG_SWAP=n); there but unreadable counts as in
// use: the limit is not trusted on a guess.
bool swap_in_use(const std::string& swaps_file) {
    struct stat st {};
    // (Only where /proc itself is there: without it nothing can be told.)
    if (::stat(swaps_file.c_str(), &st) != 0 && errno == ENOENT && ::access("/proc/self", F_OK) == 0) return false;
    const auto text = fs::read_file(swaps_file);
    if (!text) return true;
    const size_t header_end = text->find('\n');
    return header_end != std::string::npos && text->find_first_not_of(" \t\n", header_end) != std::string::npos;
}

class CgroupV2 final : public SandboxCgroup {
  public:
    explicit CgroupV2(std::string dir) : dir_(std::move(dir)) {}
    ~CgroupV2() override {
        fd_.reset();
        kill_all();
        if (!fs::remove_cgroup(dir_)) record.keep();  // for a later sweep
    }

    Expected<void> open_and_limit(const CgroupLimits& limits, const std::string& swaps_file) {
        fd_.reset(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!fd_.valid()) return sys_failure("open " + dir_, errno);
        RTFS_CHECK(fs::write_file(dir_ + "/memory.max", std::to_string(limits.memory_bytes)));
        if (fs::exists(dir_ + "/memory.swap.max")) {
            RTFS_CHECK(fs::write_file(dir_ + "/memory.swap.max", "0"));
        } else if (swap_in_use(swaps_file)) {
            // No swap accounting (a kernel without it, or swapaccount=0) and swap on: the
            // limit's reclaim would swap the program out and it would hold the limit plus all
            // of swap (red team, 2026-12-06); v2 has no per-cgroup swappiness to stop it.
            return fail(Failure::Kind::SetupError,
                        "memory_limit_mb cannot be enforced in " + dir_ +
                            ": swap is on and this kernel's cgroup v2 does not account it (no memory.swap.max); "
                            "boot with swap accounting or turn swap off");
        }
        RTFS_CHECK(limit_cpu(limits.cpu_fraction));
        RTFS_CHECK(fs::write_file(dir_ + "/pids.max", std::to_string(limits.max_pids)));
        has_peak_ = fs::exists(dir_ + "/memory.peak");
        return Ok{};
    }

    int clone_fd() const override { return fd_.get(); }

    Expected<void> limit_cpu(double fraction) override {
        return fs::write_file(dir_ + "/cpu.max",
                              std::to_string(cpu_quota_us(fraction)) + " " + std::to_string(kCpuPeriodUs));
    }

    Expected<void> place(pid_t pid) const override {
        return fs::write_file(dir_ + "/cgroup.procs", std::to_string(pid));
    }

    // Kernels before 5.19 keep no memory.peak: track memory.current while the sandbox runs.
    void sample() override {
        if (has_peak_) return;
        if (auto now = fs::read_number(dir_ + "/memory.current")) {
            std::lock_guard lock(mu_);
            sampled_peak_ = std::max(sampled_peak_, *now);
        }
    }

    CgroupUsage usage() const override {
        CgroupUsage u;
        if (auto stat = fs::read_file(dir_ + "/cpu.stat")) {
            if (auto usec = fs::keyed(*stat, "usage_usec"))
                u.cpu_time = std::chrono::microseconds(*usec - std::min(*usec, cpu_base_usec_));
            if (auto t = fs::parse_cpu_throttling(*stat))
                u.cpu_throttling = fs::throttling_since(*t, throttling_base_);
        }
        if (peak_fd_.valid()) {
            u.memory_peak_bytes = read_peak_fd();
        } else if (has_peak_) {
            u.memory_peak_bytes = fs::read_number(dir_ + "/memory.peak");
        } else {
            std::lock_guard lock(mu_);
            if (sampled_peak_ > 0) u.memory_peak_bytes = sampled_peak_;
        }
        u.oom_kills = fs::count_since(oom_kills(), oom_kills_base_);
        u.pids_limit_hits = fs::count_since(pids_limit_hits(), pids_limit_hits_base_);
        return u;
    }

    // cpu.stat cannot be reset: remember where it stood. memory.peak takes a write (6.12+) as
    // a reset seen by reads through the same descriptor, which is kept for usage().
    void restart_measurements() override {
        const auto stat = fs::read_file(dir_ + "/cpu.stat");
        cpu_base_usec_ = stat ? fs::keyed(*stat, "usage_usec").value_or(0) : 0;
        throttling_base_ = stat ? fs::parse_cpu_throttling(*stat).value_or(CpuThrottling{}) : CpuThrottling{};
        if (has_peak_) {
            UniqueFd fd(::open((dir_ + "/memory.peak").c_str(), O_RDWR | O_CLOEXEC));
            if (fd.valid() && ::write(fd.get(), "reset\n", 6) == 6) peak_fd_ = std::move(fd);
        }
        // Event counts cannot be reset either: an OOM kill or a refused fork while the sandbox
        // was built would otherwise be the execution's.
        oom_kills_base_ = oom_kills();
        pids_limit_hits_base_ = pids_limit_hits();
        std::lock_guard lock(mu_);
        sampled_peak_ = 0;
    }

    void kill_all() override {
        // As on v1: a throttled task dies only once it runs.
        (void)fs::write_file(dir_ + "/cpu.max", "max " + std::to_string(kCpuPeriodUs));
        if (!fs::write_file(dir_ + "/cgroup.kill", "1")) fs::kill_processes(dir_);
    }

    std::string name() const override { return dir_.substr(dir_.rfind('/') + 1); }

  private:
    uint64_t oom_kills() const { return fs::read_keyed(dir_ + "/memory.events", "oom_kill").value_or(0); }
    uint64_t pids_limit_hits() const { return fs::read_keyed(dir_ + "/pids.events", "max").value_or(0); }

    std::string dir_;
    UniqueFd fd_;
    // The peak through a descriptor that reset it.
    std::optional<uint64_t> read_peak_fd() const {
        char buf[32];
        const ssize_t n = ::pread(peak_fd_.get(), buf, sizeof buf - 1, 0);
        if (n <= 0) return std::nullopt;
        buf[n] = '\0';
        return std::strtoull(buf, nullptr, 10);
    }

    bool has_peak_ = false;
    uint64_t cpu_base_usec_ = 0;
    CpuThrottling throttling_base_;
    uint64_t oom_kills_base_ = 0, pids_limit_hits_base_ = 0;  // at restart_measurements()
    UniqueFd peak_fd_;
    mutable std::mutex mu_;
    uint64_t sampled_peak_ = 0;

  public:
    CgroupRecord record;  // dropped after the directory (members go after the destructor's body)
};

Expected<std::unique_ptr<SandboxCgroup>> open_and_limit(std::string dir, const CgroupLimits& limits,
                                                        CgroupRecord record = {},
                                                        const std::string& swaps_file = kSwapsFile) {
    auto cg = std::make_unique<CgroupV2>(std::move(dir));
    cg->record = std::move(record);
    RTFS_CHECK(cg->open_and_limit(limits, swaps_file));
    return std::unique_ptr<SandboxCgroup>(std::move(cg));
}

class CgroupV2Manager final : public CgroupManager {
  public:
    CgroupV2Manager(std::string parent, std::string_view prefix)
        : parent_(std::move(parent)), prefix_(prefix) {}

    int version() const override { return 2; }
    std::string describe() const override { return "cgroup v2 (" + parent_ + ")"; }

    Expected<std::unique_ptr<SandboxCgroup>> create(const CgroupLimits& limits) override {
        const std::string name = fs::new_cgroup_name(prefix_);
        std::string dir = parent_ + "/" + name;
        CgroupRecord record = CgroupRecord::note(name, {dir});
        if (::mkdir(dir.c_str(), 0755) != 0) return sys_failure("mkdir " + dir, errno);
        return open_and_limit(std::move(dir), limits, std::move(record));  // removes the directory on failure
    }

    size_t sweep_stale() override {
        return fs::sweep_stale(parent_, prefix_) + sweep_recorded_cgroups(prefix_);
    }

  private:
    std::string parent_;
    std::string prefix_;
};

}  // namespace

Expected<std::unique_ptr<SandboxCgroup>> open_cgroup_v2(std::string dir, const CgroupLimits& limits,
                                                        const std::string& swaps_file) {
    return open_and_limit(std::move(dir), limits, {}, swaps_file);
}

std::unique_ptr<CgroupManager> make_cgroup_v2(std::string parent_dir,
                                              std::string_view name_prefix) {
    return std::make_unique<CgroupV2Manager>(std::move(parent_dir), name_prefix);
}

}  // namespace microvm::host
