// MicroVMConfig: the per-execution limits and policies. Defaults are those of the spec.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "microvm/policy.hpp"

namespace microvm {

struct MicroVMConfig {
    std::chrono::milliseconds timeout{30'000};
    uint64_t memory_limit_mb = 512;
    double cpu_limit = 1.0;  // 1.0 = one core, 0.25 = a quarter of one
    NetworkPolicy network_policy = NetworkPolicy::denied();
    FileSystemPolicy fs_policy = FileSystemPolicy::none();
    // The only environment the program sees, besides a minimal PATH.
    std::map<std::string, std::string> env_vars;
    uint64_t max_output_bytes = 1 << 20;  // per stream
    uint32_t max_processes = 256;

    // Range checks shared by every provider (a zero timeout, a negative CPU share, ...).
    Expected<void> validate() const;
    bool operator==(const MicroVMConfig&) const = default;
};

// A CPU share (cpu_limit, a cgroup's quota) as settings and messages show it: "0.25", "2".
std::string format_cpu_share(double share);

}  // namespace microvm
