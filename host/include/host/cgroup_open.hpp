// One sandbox cgroup in directories that exist already, each with its control files (the kernel
// makes them with the directory): its limits are written and it is owned from here on (killed
// and removed on destruction). The managers' create() makes the directories and goes through
// these; unit tests hand them a fake tree, the only way to check on a v1 host what is written on
// a v2 one, and the memory+swap line on a host without swap.
#pragma once

#include <memory>
#include <string>

#include "host/cgroup.hpp"
#include "microvm/error.hpp"

namespace microvm::host {

struct CgroupV1Dirs {
    std::string memory, cpu, cpuacct, pids;  // cpuacct may be empty; some may be the same
};
Expected<std::unique_ptr<SandboxCgroup>> open_cgroup_v1(const CgroupV1Dirs& dirs,
                                                        const CgroupLimits& limits);
// Refused where memory.swap.max is missing (no swap accounting) while swaps_file (the kernel's
// list of swap areas) names one: the memory limit would not hold.
inline constexpr const char* kSwapsFile = "/proc/swaps";
Expected<std::unique_ptr<SandboxCgroup>> open_cgroup_v2(std::string dir, const CgroupLimits& limits,
                                                        const std::string& swaps_file = kSwapsFile);

}  // namespace microvm::host
