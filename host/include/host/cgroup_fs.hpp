// File-level helpers shared by the cgroup v1 and v2 implementations.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "microvm/error.hpp"
#include "microvm/result.hpp"

namespace microvm::host::cgroupfs {

inline constexpr std::string_view kNamePrefix = "microvm-process-";

Expected<void> write_file(const std::string& path, std::string_view value);
std::optional<std::string> read_file(const std::string& path);
bool exists(const std::string& path);
// The first number in the file.
std::optional<uint64_t> read_number(const std::string& path);
// The value of a "key value" line, of a file or of its text.
std::optional<uint64_t> read_keyed(const std::string& path, std::string_view key);
std::optional<uint64_t> keyed(std::string_view text, std::string_view key);

// The CFS bandwidth counters of a cpu.stat file's text, of either version: nr_periods,
// nr_throttled, and throttled_usec (v2) or throttled_time in nanoseconds (v1). nullopt when the
// text has none of them (no cpu controller there, or a kernel without CFS bandwidth control).
std::optional<CpuThrottling> parse_cpu_throttling(std::string_view cpu_stat);
// What the counters gained since base (a warm sandbox's preparation, which the program is not
// charged with); a counter below its base (never, short of a reset) counts from zero.
CpuThrottling throttling_since(const CpuThrottling& now, const CpuThrottling& base);
// An event count since base (a counter that cannot be reset: oom_kill, pids.events' max).
inline uint64_t count_since(uint64_t now, uint64_t base) { return now - std::min(now, base); }

// host::owned_name(prefix): "microvm-process-<pid>.<pid namespace>-<n>".
std::string new_cgroup_name(std::string_view prefix = kNamePrefix);
// Creates dir and its missing parents.
// The directories it made, parents first, are appended to *made when given.
Expected<void> make_dirs(const std::string& dir, std::vector<std::string>* made = nullptr);
// SIGKILLs every process listed in dir/cgroup.procs.
void kill_processes(const std::string& dir);
// Kills what is left and removes the directory, retrying while the kernel still sees tasks
// (attempts of 5 ms apart; a second or more for one that cannot go, a busy child cgroup's parent).
bool remove_cgroup(const std::string& dir, int attempts = 200);
// Removes the cgroups under parent named "<prefix><pid>-..." whose owner process no longer exists.
size_t sweep_stale(const std::string& parent, std::string_view prefix = kNamePrefix);

struct CgroupMountInfo {
    std::string fstype;  // "cgroup" or "cgroup2"
    std::string mountpoint;
    std::string root;     // the cgroup this mount shows as its root
    std::string options;  // super options (v1: the controllers)
};
// The cgroup mounts of one read of /proc/self/mountinfo (host/mountinfo.hpp).
std::vector<CgroupMountInfo> cgroup_mounts();

// This process's cgroups: /proc/self/cgroup read once, looked up per hierarchy.
class OwnCgroups {
  public:
    static OwnCgroups read();
    // The cgroup in the hierarchy whose controller list contains controller ("" = the v2
    // hierarchy).
    std::optional<std::string> of(std::string_view controller) const;

  private:
    std::string text_;
};

}  // namespace microvm::host::cgroupfs
