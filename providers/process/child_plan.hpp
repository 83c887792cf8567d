// What the sandbox's init process (the child of clone) executes, as plain data prepared by the
// host before clone. The child of a multithreaded host may only make async-signal-safe calls,
// so it never allocates: every string and array here points into memory the host built.
#pragma once

#include <linux/filter.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "host/rlimits.hpp"

namespace microvm::process {

inline constexpr size_t kMaxChildMounts = 512;
inline constexpr size_t kMaxCgroupJoinFds = 4;
// Pseudo-terminals a sandbox under Full may hold in its private devpts (the host's instance had
// all kernel.pty.max of them taken by one sandbox, red team 2026-12-04). The kernel counts every
// instance's terminals against one pool: kernel.pty.max (4096) less kernel.pty.reserve (1024),
// which only the host's own instance may use. 16 each (a shell, an editor, a few tmux panes)
// lets 192 sandboxes hold all they may at once before another container's devpts runs short.
inline constexpr unsigned kPtysPerSandbox = 16;

struct ChildMount {
    enum Kind : int { kBind, kTmpfs, kProc, kDevpts, kMqueue, kHostReadOnly };  // the last three: Full only
    Kind kind = kBind;
    const char* source = nullptr;      // kBind: canonical absolute host path
    const char* target = nullptr;      // relative to the new root; "" is the root itself
    bool directory = true;             // kBind: directory (else a single file)
    uint64_t attr_set = 0;             // MOUNT_ATTR_* applied (recursively for directories)
    const char* tmpfs_size = nullptr;  // kTmpfs: size option, in bytes
    const char* tmpfs_mode = nullptr;  // kTmpfs: mode option, octal
    // kBind: the identity of the checked source; the init binds nothing else.
    uint64_t source_dev = 0;
    uint64_t source_ino = 0;
    uid_t owner_uid = 0;  // kBind: the source's owner, which a writable bind maps to the sandbox
    gid_t owner_gid = 0;
    // kBind: a detached tree the host cloned from the checked source with its attributes
    // (bind_trees.hpp), which the init only attaches; -1: the init clones the source itself.
    int tree_fd = -1;
};

// The init applies these with setrlimit (soft and hard).
using ChildRlimit = host::Rlimit;

// Descriptors (host numbers, as inherited) the init keeps; everything else is closed at once.
struct ChildFds {
    int sync = -1;    // read end: one byte once the host finished uid maps and cgroup placement
    int report = -1;  // write end: ChildReport records to the host
    int stdin_fd = -1;
    int stdout_fd = -1;
    int stderr_fd = -1;
    int result = -1;  // write end of the guest runner's fd 3, or -1
    // cgroup v1 "tasks" files the init writes "0" to, joining its cgroups itself.
    int cgroup_join[kMaxCgroupJoinFds] = {-1, -1, -1, -1};
    size_t cgroup_join_count = 0;
    // Allow/block lists: a Unix socket to the host, on which the init sends the listening socket
    // it bound on 127.0.0.1:egress_port inside the namespace (the egress proxy accepts on it), or -1.
    int egress = -1;
    // A sandbox built ahead (a warm pool's): the read end on which the host sends the launch
    // message (launch_message.hpp) once an execution claims it; the init reports kReady and
    // waits there. -1: the plan's own argv and envp are executed at once.
    int launch = -1;
};

struct ChildPlan {
    ChildFds fds;

    // Identity inside the user namespace (the host maps exactly this uid/gid).
    uid_t uid = 65534;
    gid_t gid = 65534;
    bool clear_groups = true;  // false when setgroups is denied (unprivileged host)

    // Root file system.
    bool host_root = false;            // fs Full: keep the host tree, mount a fresh /proc
    const char* attach_dir = nullptr;  // existing directory the new (tmpfs) root is attached to
    const ChildMount* mounts = nullptr;
    size_t mount_count = 0;
    const char* const* symlink_paths = nullptr;  // relative to the new root
    const char* const* symlink_targets = nullptr;
    size_t symlink_count = 0;
    const char* workdir = "/";

    bool new_network = true;  // bring loopback up in the fresh network namespace
    uint16_t egress_port = 0;  // with fds.egress: the port the egress proxy answers on inside
    const char* hostname = "microvm";

    // The program.
    const char* exec_path = nullptr;
    char* const* argv = nullptr;
    char* const* envp = nullptr;
    const ChildRlimit* rlimits = nullptr;
    size_t rlimit_count = 0;
    int last_capability = 40;  // /proc/sys/kernel/cap_last_cap
    // Installed in this order right before exec (see seccomp.hpp); nullptr: none (tests only).
    const sock_fprog* seccomp_existence = nullptr;
    const sock_fprog* seccomp_arguments = nullptr;
};

}  // namespace microvm::process
