#include "run_cgroup.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "host/cgroup_fs.hpp"
#include "host/unique_fd.hpp"
#include "io.hpp"

namespace microvm::guest {
namespace {

std::string g_root;

// Small kernel files (cgroup, proc) are read and written with the host's cgroup helpers: plain
// system calls (iostreams cost a restored VM thousands of instructions to translate afresh).
namespace cgroupfs = host::cgroupfs;

}  // namespace

const std::string& vm_cgroup_root() { return g_root; }
void set_vm_cgroup_root(std::string root) { g_root = std::move(root); }

std::unique_ptr<RunCgroup> RunCgroup::create(const std::string& root, uint64_t memory_max,
                                           std::string& error) {
    static std::atomic<unsigned> counter{0};
    std::string dir = root + "/run" + std::to_string(++counter);
    if (::mkdir(dir.c_str(), 0700) != 0) {
        error = "cannot create the run's cgroup " + dir + ": " + std::strerror(errno);
        return nullptr;
    }
    host::UniqueFd procs(::open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
    if (!procs.valid()) {
        error = "cannot open " + dir + "/cgroup.procs: " + std::strerror(errno);
        ::rmdir(dir.c_str());
        return nullptr;
    }
    std::unique_ptr<RunCgroup> cgroup(new RunCgroup(std::move(dir), std::move(procs)));
    if (memory_max) {
        error = cgroup->limit_memory(memory_max);
        if (!error.empty()) return nullptr;  // the destructor removes the directory
    }
    return cgroup;
}

std::string RunCgroup::limit_memory(uint64_t memory_max) const {
    for (const auto& [file, value] : {std::pair{"/memory.max", std::to_string(memory_max)}, std::pair{"/memory.oom.group", std::string("1")}}) {
        if (auto written = cgroupfs::write_file(dir_ + file, value); !written)
            return "cannot limit the run's memory: " + written.error().message;
    }
    return {};
}

RunCgroup::~RunCgroup() {
    if (dir_.empty()) return;
    procs_.reset();
    kill_all();
    // cgroup.kill is asynchronous: the directory empties when the killed processes are reaped
    // (pid 1 reaps orphans).
    cgroupfs::remove_cgroup(dir_);
}

uint64_t RunCgroup::peak_bytes() const { return cgroupfs::read_number(dir_ + "/memory.peak").value_or(0); }

bool RunCgroup::oom_killed() const { return cgroupfs::read_keyed(dir_ + "/memory.events", "oom_kill").value_or(0) > 0; }

bool RunCgroup::cpu_time_us(uint64_t& user, uint64_t& system) const {
    const std::optional<std::string> stat = cgroupfs::read_file(dir_ + "/cpu.stat");
    if (!stat) return false;
    const auto u = cgroupfs::keyed(*stat, "user_usec"), s = cgroupfs::keyed(*stat, "system_usec");
    if (!u || !s) return false;
    user = *u;
    system = *s;
    return true;
}

void RunCgroup::kill_all() const { (void)cgroupfs::write_file(dir_ + "/cgroup.kill", "1"); }

std::string limit_guest_tasks(uint64_t max_processes, uint64_t started) {
    // /proc/loadavg's fourth field: running/total tasks of the guest kernel.
    const std::string load = cgroupfs::read_file("/proc/loadavg").value_or("");
    size_t slash = load.find('/');
    if (slash == std::string::npos) return "cannot read the guest's task count";
    uint64_t total = std::strtoull(load.c_str() + slash + 1, nullptr, 10);
    if (total < started) return "cannot read the guest's task count";
    total -= started;  // the run's own, counted in max_processes
    uint64_t cap = total + max_processes;
    if (cap < 20) return "cannot limit the guest to " + std::to_string(max_processes) + " processes: the kernel's task limit has a floor of 20 and " + std::to_string(total) + " tasks exist";
    if (auto written = cgroupfs::write_file("/proc/sys/kernel/threads-max", std::to_string(cap)); !written)
        return "cannot set kernel.threads-max: " + written.error().message;
    return {};
}

}  // namespace microvm::guest
