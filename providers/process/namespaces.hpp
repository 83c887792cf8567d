// Host side of the namespaces: which ones a sandbox gets, the uid/gid mapping of its user
// namespace, and the clone3 call that creates the init inside all of them at once.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "microvm/error.hpp"
#include "process/child_plan.hpp"
#include "host/child_process.hpp"
#include "host/id_lease.hpp"
#include "host/unique_fd.hpp"

namespace microvm::process {

// One unprivileged id inside the user namespace (65534 on a root host), mapped to one host id: a
// sandbox's own on a root host (SandboxIdentity below), the caller's own ids otherwise.
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

// The host identities of one sandbox. A root host gives each sandbox two of its own, both from one
// lease (host/id_lease.hpp), so that no other sandbox of any host process holds them while it
// lives (ids from 0x70000000 on: above every account and subordinate-id range a system hands
// out; the qemu provider's are 0x71000000 on):
// - the owner of its user namespace (kOwnerIdBase + n): the kernel charges what is counted per
//   namespace (inotify instances and watches, POSIX message queue bytes, pending signals,
//   processes, namespaces) to the owner's budgets in the host's namespace. The calling thread
//   creates the namespaces as the owner (spawn_init);
// - the program's uid and gid (kProgramIdBase + n), which 65534 inside maps to: the kernel
//   charges what is counted per host user (pipe buffer pages, epoll watches, descriptors in
//   flight over Unix sockets) to the real uid of the process. Not the owner's:
//   a process of the host's namespace whose uid is the owner holds every capability in the
//   sandbox's namespace.
// So no sandbox can exhaust a budget of root, of another host user or of another sandbox. An
// unprivileged host can only map its own ids and own its namespaces: its sandboxes share that
// user's per-user budgets (the per-namespace ones are bounded by the namespace's limits,
// supervisor.cpp).
inline constexpr uid_t kOwnerIdBase = 0x70000000u;
inline constexpr uid_t kProgramIdBase = 0x72000000u;

struct SandboxIdentity {
    IdMapping ids;                       // the program's mapping
    std::optional<uid_t> owner;          // root host: the user namespace's owner
    std::optional<host::IdLease> lease;  // root host: holds both until the sandbox is gone
};

// host_ids: IdMapping::for_this_process().
Expected<SandboxIdentity> new_sandbox_identity(const IdMapping& host_ids);

// clone3 with the namespace flags (and CLONE_INTO_CGROUP when cgroup_fd >= 0); the child runs
// run_init(plan) and never returns here. With owner set (a root host), the calling thread
// creates the namespaces as that identity (and without CLONE_INTO_CGROUP, which the owner has
// no right to: the caller then places the init by pid).
Expected<host::ChildProcess> spawn_init(uint64_t namespace_flags, int cgroup_fd, const ChildPlan& plan,
                                 std::optional<uid_t> owner);

// A new user namespace with these uid_map and gid_map lines (one "inside outside count" each),
// held by the returned descriptor (its short-lived first process is reaped here).
Expected<host::UniqueFd> user_namespace_fd(const std::string& uid_map, const std::string& gid_map);

// Availability check: clones a child into these namespaces, which exits at once, and reaps it.
Expected<void> spawn_probe(uint64_t namespace_flags);

}  // namespace microvm::process
