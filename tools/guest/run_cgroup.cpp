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

#include "host/unique_fd.hpp"
#include "io.hpp"

namespace microvm::guest {
namespace {

std::string g_root;

// Small kernel files (cgroup, proc) read with plain syscalls: iostreams cost a restored VM
// thousands of instructions to translate afresh.
std::string read_file(const std::string& path) {
    host::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return {};
    return host::read_to_end(fd.get(), 1u << 20).value_or("");
}

bool write_file(const std::string& path, const std::string& value) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = write_all(fd, value);
    ::close(fd);
    return ok;
}

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
    if (!write_file(dir_ + "/memory.max", std::to_string(memory_max)) ||
        !write_file(dir_ + "/memory.oom.group", "1")) {
        return "cannot set memory.max of " + dir_ + ": " + std::strerror(errno);
    }
    return {};
}

RunCgroup::~RunCgroup() {
    if (dir_.empty()) return;
    procs_.reset();
    kill_all();
    // cgroup.kill is asynchronous: the directory empties when the killed processes are reaped
    // (pid 1 reaps orphans).
    for (int i = 0; i < 200 && ::rmdir(dir_.c_str()) != 0 && errno == EBUSY; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

uint64_t RunCgroup::peak_bytes() const {
    return std::strtoull(read_file(dir_ + "/memory.peak").c_str(), nullptr, 10);
}

bool RunCgroup::oom_killed() const {
    // Lines "key value"; the line "oom_kill N".
    const std::string events = "\n" + read_file(dir_ + "/memory.events");
    const size_t at = events.find("\noom_kill ");
    return at != std::string::npos && std::strtoull(events.c_str() + at + 10, nullptr, 10) > 0;
}

bool RunCgroup::cpu_time_us(uint64_t& user, uint64_t& system) const {
    // Lines "key value": "user_usec N", "system_usec N".
    const std::string stat = "\n" + read_file(dir_ + "/cpu.stat");
    const size_t u = stat.find("\nuser_usec ");
    const size_t s = stat.find("\nsystem_usec ");
    if (u == std::string::npos || s == std::string::npos) return false;
    user = std::strtoull(stat.c_str() + u + 11, nullptr, 10);
    system = std::strtoull(stat.c_str() + s + 13, nullptr, 10);
    return true;
}

void RunCgroup::kill_all() const { (void)write_file(dir_ + "/cgroup.kill", "1"); }

std::string limit_guest_tasks(uint64_t max_processes, uint64_t started) {
    // /proc/loadavg's fourth field: running/total tasks of the guest kernel.
    std::string load = read_file("/proc/loadavg");
    size_t slash = load.find('/');
    if (slash == std::string::npos) return "cannot read the guest's task count";
    uint64_t total = std::strtoull(load.c_str() + slash + 1, nullptr, 10);
    if (total < started) return "cannot read the guest's task count";
    total -= started;  // the run's own, counted in max_processes
    uint64_t cap = total + max_processes;
    if (cap < 20) return "cannot limit the guest to " + std::to_string(max_processes) + " processes: the kernel's task limit has a floor of 20 and " + std::to_string(total) + " tasks exist";
    if (!write_file("/proc/sys/kernel/threads-max", std::to_string(cap))) {
        return std::string("cannot set kernel.threads-max: ") + std::strerror(errno);
    }
    return {};
}

}  // namespace microvm::guest
