// Resource limits of the sandboxed program that cgroups do not cover: no core dumps, a cap on
// the size of any file it writes, and on its open descriptors. (Process counts are limited by
// the pids cgroup: RLIMIT_NPROC counts per host uid, across concurrent sandboxes.)
#pragma once

#include <cstdint>
#include <vector>

#include "process/child_failure.hpp"
#include "process/child_plan.hpp"

namespace microvm::process {

struct RlimitSettings {
    uint64_t max_file_size_bytes = 1ull << 30;
    uint64_t max_open_files = 1024;
    bool operator==(const RlimitSettings&) const = default;
};

// Host side: the values to apply (never above the host's own hard limits).
std::vector<ChildRlimit> sandbox_rlimits(const RlimitSettings& settings);

// Child side (async-signal-safe).
bool apply_rlimits(const ChildPlan& plan, ChildFailure& f);

}  // namespace microvm::process
