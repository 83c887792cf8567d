// Plans the root file system of one sandbox from its fs policy (host side, no privileges).
//   None       a fresh tmpfs holding the program, its interpreter and libraries (each checked
//              like a policy path, regular files only), /dev/{null,zero,urandom} (read-only
//              binds), a fresh /proc and a private size-limited /tmp; read-only except /tmp.
//   ReadOnly   None plus the policy paths bound read-only (empty list: the system directories).
//   ReadWrite  None plus the policy paths bound writable, and its read_only_paths read-only.
//   Full       the host tree itself (still inside the namespaces) with a fresh /proc.
// Policy paths are absolute, never contain "..", and are resolved once here
// (policy_source.hpp: the host's root, /proc, /sys, /dev and kernel-interface file systems are
// refused); every bind records the identity of what was checked, and whoever binds it opens it
// again refusing every symlink and compares, so a path swapped after planning fails instead of
// redirecting the bind. Symlinks inside a bound directory resolve inside the sandbox root, where
// only what was bound exists.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "microvm/policy.hpp"
#include "host/policy_source.hpp"
#include "host/program_files.hpp"

namespace microvm::host {

struct Mount {
    // Devpts, Mqueue: a private instance of the file system (the process provider mounts them
    // over the host's under Full: the host's are budgets every process shares).
    // HostReadOnly (Full only): the host's mount at target, read-only in the sandbox (that
    // mount alone; source: the same path, identity: its root; full_memory_mounts.hpp).
    enum class Kind { Bind, Tmpfs, Proc, Devpts, Mqueue, HostReadOnly };
    Kind kind = Kind::Bind;
    std::string source;     // Bind: canonical host path
    std::string target;     // absolute path in the sandbox
    bool directory = true;  // Bind: a directory (else a single file)
    bool writable = false;
    bool devices = false;     // Bind: a device node that stays usable (no nodev)
    uint64_t size_bytes = 0;  // Tmpfs
    bool noexec = false;      // Tmpfs: nothing in it runs (Full: the host mount it stands for is noexec)
    host::FileIdentity identity;    // Bind: what was checked; binding anything else fails
    uid_t owner_uid = 0;      // Bind: the source's owner (writable binds map it to the sandbox)
    gid_t owner_gid = 0;
};

struct RootfsPlan {
    bool host_root = false;     // Full: no new root, only a fresh /proc over the host's
    std::vector<Mount> mounts;  // parents before children (the root is always a fresh tmpfs)
    std::vector<std::pair<std::string, std::string>> symlinks;  // (path, link target)
    std::string workdir = "/";
};

struct RootfsRequest {
    FileSystemPolicy policy;
    std::vector<HostFile> program_files;    // bound read-only where the program looks for them
    std::vector<std::string> runtime_dirs;  // host directories the program needs, read-only
    uint64_t tmp_size_bytes = 64u << 20;    // the private /tmp
};

// InvalidInput for bad policy paths (relative, "..", missing, refused by host::check_policy_source,
// nested through a symlink) and for program files refused by the same checks or not regular
// files; SetupError when a needed file cannot be placed.
Expected<RootfsPlan> plan_rootfs(const RootfsRequest& request);

}  // namespace microvm::host
