// runsc creates a container's cgroup in every hierarchy it finds (with cgroup v1: cpuset, blkio,
// devices, freezer, name=systemd, ... besides the memory, cpu and pids cgroups the provider
// creates for it beforehand) and removes them when the container is destroyed. When runsc could
// not (it was killed, or the host died), the provider removes them itself, by name, in every
// hierarchy: never through `runsc delete`, which would signal the sandbox pid recorded in the
// state, a pid the kernel may have handed to an unrelated process by then.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace microvm::gvisor {

// The directory under which runsc creates "<name>" in each mounted hierarchy (v1 and v2):
// this process's own cgroup there, or parent (a path from each hierarchy's root) when given.
std::vector<std::string> cgroup_parent_dirs(const std::string& parent);

// Kills what is left in <dir>/<name> of each parent dir and removes those cgroups.
void remove_cgroup_everywhere(const std::vector<std::string>& parent_dirs, const std::string& name);

// Removes the cgroups "<prefix><pid>-..." whose owner pid is dead, in every parent dir.
size_t sweep_stale_cgroups(const std::vector<std::string>& parent_dirs, std::string_view prefix);

}  // namespace microvm::gvisor
