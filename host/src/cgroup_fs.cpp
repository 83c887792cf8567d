#include "host/cgroup_fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <thread>

#include "host/mountinfo.hpp"
#include "host/paths.hpp"
#include "host/stale_dirs.hpp"
#include "host/sys_error.hpp"
#include "host/unique_fd.hpp"
#include "rtfs/ascii_text.hpp"

namespace microvm::host::cgroupfs {

namespace {

std::optional<uint64_t> parse_u64(std::string_view text) {
    text = rtfs::trim_ascii(text);
    if (text.empty()) return std::nullopt;
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc()) return std::nullopt;
    return value;
}

std::vector<std::string> split(std::string_view text, char sep) {
    std::vector<std::string> parts;
    size_t i = 0;
    while (i <= text.size()) {
        size_t j = text.find(sep, i);
        if (j == std::string_view::npos) j = text.size();
        parts.emplace_back(text.substr(i, j - i));
        i = j + 1;
    }
    return parts;
}

}  // namespace

Expected<void> write_file(const std::string& path, std::string_view value) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) return sys_failure("open " + path, errno);
    ssize_t n = ::write(fd.get(), value.data(), value.size());
    if (n != static_cast<ssize_t>(value.size())) {
        return sys_failure("write '" + std::string(value) + "' to " + path, errno);
    }
    return Ok{};
}

std::optional<std::string> read_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return std::nullopt;
    return read_to_end(fd.get());
}

bool exists(const std::string& path) {
    return ::access(path.c_str(), F_OK) == 0;
}

std::optional<uint64_t> read_number(const std::string& path) {
    auto text = read_file(path);
    if (!text) return std::nullopt;
    return parse_u64(*text);
}

std::optional<uint64_t> read_keyed(const std::string& path, std::string_view key) {
    auto text = read_file(path);
    if (!text) return std::nullopt;
    return keyed(*text, key);
}

std::optional<uint64_t> keyed(std::string_view text, std::string_view key) {
    for (const std::string& line : split(text, '\n')) {
        std::string_view l(line);
        if (l.starts_with(key) && l.size() > key.size() && l[key.size()] == ' ') {
            return parse_u64(l.substr(key.size() + 1));
        }
    }
    return std::nullopt;
}

std::optional<CpuThrottling> parse_cpu_throttling(std::string_view cpu_stat) {
    const auto periods = keyed(cpu_stat, "nr_periods");
    const auto throttled = keyed(cpu_stat, "nr_throttled");
    const auto usec = keyed(cpu_stat, "throttled_usec");  // v2
    const auto nsec = keyed(cpu_stat, "throttled_time");  // v1
    if (!periods && !throttled && !usec && !nsec) return std::nullopt;
    CpuThrottling t;
    t.periods = periods.value_or(0);
    t.throttled_periods = throttled.value_or(0);
    t.throttled_time = usec ? std::chrono::nanoseconds(std::chrono::microseconds(*usec))
                            : std::chrono::nanoseconds(nsec.value_or(0));
    return t;
}

CpuThrottling throttling_since(const CpuThrottling& now, const CpuThrottling& base) {
    auto minus = [](auto a, auto b) { return a > b ? a - b : decltype(a){}; };
    return {minus(now.periods, base.periods), minus(now.throttled_periods, base.throttled_periods),
            minus(now.throttled_time, base.throttled_time)};
}

std::string new_cgroup_name(std::string_view prefix) {
    return owned_name(prefix);
}

Expected<void> make_dirs(const std::string& dir, std::vector<std::string>* made) {
    // Usually only the last component is missing (a new sandbox cgroup): one mkdir, not one
    // per component of a path that may be seven deep.
    if (::mkdir(dir.c_str(), 0755) == 0) {
        if (made) made->push_back(dir);
        return Ok{};
    }
    if (errno == EEXIST) return Ok{};
    if (errno != ENOENT) return sys_failure("mkdir " + dir, errno);
    std::string path;
    for (const std::string& part : path_components(dir)) {
        path += "/" + part;
        if (::mkdir(path.c_str(), 0755) == 0) {
            if (made) made->push_back(path);
        } else if (errno != EEXIST) {
            return sys_failure("mkdir " + path, errno);
        }
    }
    return Ok{};
}

void kill_processes(const std::string& dir) {
    auto procs = read_file(dir + "/cgroup.procs");
    if (!procs) return;
    for (const std::string& line : split(*procs, '\n')) {
        if (auto pid = parse_u64(line); pid && *pid > 0) ::kill(static_cast<pid_t>(*pid), SIGKILL);
    }
}

bool remove_cgroup(const std::string& dir, int attempts) {
    using namespace std::chrono_literals;
    for (int attempt = 0; attempt < attempts; ++attempt) {
        if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
        if (errno != EBUSY) return false;
        // Tasks still exiting (or, for a stale cgroup, still running): kill and retry.
        kill_processes(dir);
        std::this_thread::sleep_for(5ms);
    }
    return false;
}

size_t sweep_stale(const std::string& parent, std::string_view prefix) {
    return remove_left_by_dead_owners(parent, prefix, [](const std::string& dir) { return remove_cgroup(dir); });
}

std::vector<CgroupMountInfo> cgroup_mounts() {
    std::vector<CgroupMountInfo> mounts;
    for (MountEntry& m : read_mountinfo()) {
        if (m.fstype == "cgroup" || m.fstype == "cgroup2") {
            mounts.push_back({std::move(m.fstype), std::move(m.mount_point), std::move(m.root),
                              std::move(m.super_options)});
        }
    }
    return mounts;
}

OwnCgroups OwnCgroups::read() {
    OwnCgroups own;
    own.text_ = read_file("/proc/self/cgroup").value_or("");
    return own;
}

std::optional<std::string> OwnCgroups::of(std::string_view controller) const {
    for (const std::string& line : split(text_, '\n')) {
        // hierarchy-id:controller-list:path
        size_t a = line.find(':');
        size_t b = a == std::string::npos ? a : line.find(':', a + 1);
        if (b == std::string::npos) continue;
        std::string list = line.substr(a + 1, b - a - 1);
        bool match = controller.empty() ? (line.substr(0, a) == "0" && list.empty()) : false;
        if (!controller.empty()) {
            for (const std::string& c : split(list, ',')) match = match || c == controller;
        }
        if (match) return line.substr(b + 1);
    }
    return std::nullopt;
}

}  // namespace microvm::host::cgroupfs
