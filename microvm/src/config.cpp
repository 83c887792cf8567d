// MicroVMConfig::validate: the range checks every provider relies on.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "microvm/config.hpp"
#include "text_util.hpp"

namespace microvm {
namespace {

constexpr std::chrono::milliseconds kMaxTimeout = std::chrono::hours(24);
// Far above any real machine, low enough that providers can convert to bytes without overflow.
constexpr uint64_t kMaxMemoryMb = uint64_t{1} << 30;
constexpr double kMaxCpuLimit = 1024.0;
// Output is buffered in memory up to this cap per stream.
constexpr uint64_t kMaxOutputBytes = uint64_t{1} << 30;

void check_network(const NetworkPolicy& p, std::vector<std::string>& problems) {
    bool is_list =
        p.kind == NetworkPolicy::Kind::AllowList || p.kind == NetworkPolicy::Kind::DenyList;
    if (!is_list) {
        if (!p.hosts.empty())
            problems.push_back("network_policy: hosts given for a policy without a list");
        return;
    }
    if (p.hosts.empty()) {
        problems.push_back("network_policy: the host list is empty (use deny or full instead)");
    }
    for (const std::string& h : p.hosts) {
        if (auto e = parse_host_entry(h); !e)
            problems.push_back("network_policy: " + e.error().message);
    }
}

void check_fs(const FileSystemPolicy& p, std::vector<std::string>& problems) {
    bool has_paths =
        p.kind == FileSystemPolicy::Kind::ReadOnly || p.kind == FileSystemPolicy::Kind::ReadWrite;
    if (!has_paths) {
        if (!p.paths.empty() || !p.read_only_paths.empty())
            problems.push_back("fs_policy: paths given for a policy without paths");
        return;
    }
    if (p.kind == FileSystemPolicy::Kind::ReadWrite && p.paths.empty()) {
        problems.push_back("fs_policy: read-write needs at least one path");
    }
    if (p.kind == FileSystemPolicy::Kind::ReadOnly && !p.read_only_paths.empty()) {
        problems.push_back("fs_policy: read_only_paths belong to a read-write policy");
    }
    const std::vector<std::string> paths = p.readable_paths();
    if (paths.size() > kMaxPolicyPaths) {
        problems.push_back("fs_policy: " + std::to_string(paths.size()) + " paths; at most " +
                           std::to_string(kMaxPolicyPaths) + " (each is a bind mount of the sandbox)");
        return;
    }
    for (const std::string& path : paths) {
        auto n = normalize_policy_path(path);
        if (!n) problems.push_back("fs_policy: " + n.error().message);
    }
}

void check_env(const std::map<std::string, std::string>& env, std::vector<std::string>& problems) {
    for (const auto& [name, value] : env) {
        if (name.empty()) {
            problems.push_back("env_vars: empty variable name");
        } else if (name.find('=') != std::string::npos || name.find('\0') != std::string::npos) {
            problems.push_back("env_vars: bad variable name " + text::quoted(name) +
                               " (no '=' or NUL allowed)");
        }
        if (value.find('\0') != std::string::npos) {
            problems.push_back("env_vars: the value of " + text::quoted(name) +
                               " contains a NUL byte");
        }
    }
}

}  // namespace

Expected<void> MicroVMConfig::validate() const {
    std::vector<std::string> problems;
    if (timeout <= std::chrono::milliseconds::zero() || timeout > kMaxTimeout) {
        problems.push_back("timeout: must be more than 0 and at most 24h, got " +
                           std::to_string(timeout.count()) + "ms");
    }
    if (memory_limit_mb < 1 || memory_limit_mb > kMaxMemoryMb) {
        problems.push_back("memory_limit_mb: must be between 1 and " +
                           std::to_string(kMaxMemoryMb) + ", got " +
                           std::to_string(memory_limit_mb));
    }
    if (!std::isfinite(cpu_limit) || cpu_limit <= 0.0 || cpu_limit > kMaxCpuLimit) {
        problems.push_back("cpu_limit: must be more than 0 and at most 1024 (cores), got " +
                           format_cpu_share(cpu_limit));
    }
    if (max_output_bytes < 1 || max_output_bytes > kMaxOutputBytes) {
        problems.push_back("max_output_bytes: must be between 1 and " +
                           std::to_string(kMaxOutputBytes) + ", got " +
                           std::to_string(max_output_bytes));
    }
    if (max_processes < 1) problems.push_back("max_processes: must be at least 1, got 0");
    check_network(network_policy, problems);
    check_fs(fs_policy, problems);
    check_env(env_vars, problems);
    if (problems.empty()) return Ok{};
    return fail(Failure::Kind::InvalidConfig, text::join(problems, "; "));
}

std::string format_cpu_share(double share) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", share);
    return text;
}

}  // namespace microvm
