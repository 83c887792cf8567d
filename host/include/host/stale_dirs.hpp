// Names of what a host process creates in places shared with other host processes (cgroups,
// state directories): "<prefix><pid>.<pid namespace>-<serial>", so that a later process can
// remove what a dead one left behind. Each provider sweeps its own when it starts.
//
// The pid namespace is part of the name because a pid means nothing in another one: a host
// process in another container sharing the place (a cgroup hierarchy, /run) has pids that do
// not exist here, and its live directories and cgroups must not look like a dead process's
// (a sweep removes a cgroup by killing what is inside). Names of another namespace are left to
// that namespace's own sweeps.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace microvm::host {

// A new name for this process: prefix, pid, pid namespace, a per-process serial (starting at a
// random number: a later process of the same pid names nothing as the dead one did).
std::string owned_name(std::string_view prefix);

// Whether name is prefix's and was left by a process of this pid namespace that is gone (not
// this process, not a live one). Names without the namespace (older versions) are judged by
// the pid alone, as they were.
bool left_by_dead_owner(std::string_view name, std::string_view prefix);

// Calls remove(path) for each entry of parent left by a dead owner (left_by_dead_owner, judged
// again just before: the pid may be a new process's by now); returns how many it removed
// (remove returned true).
size_t remove_left_by_dead_owners(const std::string& parent, std::string_view prefix,
                                  const std::function<bool(const std::string& path)>& remove);

// Removes the directories in parent left by dead owners (left_by_dead_owner); returns how many.
size_t remove_dirs_of_dead_owners(const std::string& parent, std::string_view prefix);

}  // namespace microvm::host
