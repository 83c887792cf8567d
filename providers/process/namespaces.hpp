// Host side of the namespaces: which ones a sandbox gets, the uid/gid mapping of its user
// namespace, and the clone3 call that creates the init inside all of them at once.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "microvm/error.hpp"
#include "process/child_plan.hpp"
#include "host/unique_fd.hpp"

namespace microvm::process {

// One unprivileged id inside the user namespace, mapped to a host id: 65534 (nobody) when the
// host runs as root, the caller's own ids otherwise.
struct IdMapping {
    uid_t inside_uid = 65534;
    uid_t outside_uid = 65534;
    gid_t inside_gid = 65534;
    gid_t outside_gid = 65534;
    bool host_is_root = true;  // an unprivileged host must deny setgroups before mapping gids

    static IdMapping for_this_process();
    // Writes /proc/PID/{setgroups,uid_map,gid_map} of a freshly cloned child.
    Expected<void> apply(pid_t child) const;
};

// user, pid, mount, ipc, uts, and net unless the sandbox shares the host's network. (The cgroup
// namespace is entered by the init itself, once it sits in its cgroup.)
uint64_t sandbox_namespace_flags(bool new_network);

struct SpawnedInit {
    pid_t pid = -1;
    host::UniqueFd pidfd;
};

// The owner of a sandbox's user namespace: the kernel charges what the sandbox holds (inotify
// instances and watches, POSIX message queue bytes, pending signals, locked memory, processes,
// namespaces) to the owner's budgets in the host's namespace. A host running as root gives each
// sandbox an identity of its own, from a range no account uses, so that no sandbox can exhaust
// a budget of root or of any other host user; an unprivileged host can only use its own
// (bounded per sandbox by the namespace's limits, supervisor.cpp).
uid_t new_namespace_owner();

// clone3 with the namespace flags (and CLONE_INTO_CGROUP when cgroup_fd >= 0); the child runs
// run_init(plan) and never returns here. With owner set (a root host), the calling thread
// creates the namespaces as that identity (and without CLONE_INTO_CGROUP, which the owner has
// no right to: the caller then places the init by pid).
Expected<SpawnedInit> spawn_init(uint64_t namespace_flags, int cgroup_fd, const ChildPlan& plan,
                                 std::optional<uid_t> owner);

// A new user namespace with these uid_map and gid_map lines (one "inside outside count" each),
// held by the returned descriptor (its short-lived first process is reaped here).
Expected<host::UniqueFd> user_namespace_fd(const std::string& uid_map, const std::string& gid_map);

// Availability check: clones a child into these namespaces, which exits at once, and reaps it.
Expected<void> spawn_probe(uint64_t namespace_flags, const IdMapping& ids);

}  // namespace microvm::process
