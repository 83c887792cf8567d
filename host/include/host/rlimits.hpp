// Resource limits of a sandboxed program that cgroups do not cover: no core dumps, a cap on the
// size of any file it writes, and on its open descriptors. (Process counts are limited by the
// pids cgroup: RLIMIT_NPROC counts per host uid, across concurrent sandboxes.) The settings are
// shared by the OS-level providers; each applies the values its own way (the process init with
// setrlimit, gvisor's OCI spec, a VM's agent).
#pragma once

#include <cstdint>
#include <vector>

namespace microvm::host {

struct RlimitSettings {
    uint64_t max_file_size_bytes = 1ull << 30;
    uint64_t max_open_files = 1024;
    bool operator==(const RlimitSettings&) const = default;
};

struct Rlimit {
    int resource;    // RLIMIT_*
    uint64_t value;  // soft and hard
};

// The values to apply (never above this host's own hard limits).
std::vector<Rlimit> sandbox_rlimits(const RlimitSettings& settings);

}  // namespace microvm::host
