// The file-system part of a container's OCI config, from the root the process provider's planner
// derives from the fs policy (process/rootfs.hpp):
//   - the OCI root is always the bundle's own directory, read-only: runsc's gofer creates
//     missing mount points inside the root on the host, so the root must never be a host tree.
//     The host stages some read-only binds in it (staged_binds.hpp), only where no spec mount
//     lies at, above or below them: the gofer never makes a mount point inside a host tree;
//   - policy paths and the program's files become bind mounts (ro, or rw for ReadWrite);
//   - a policy naming "/" (and Full) is expressed as one bind per top-level host entry (symlinks
//     such as /bin -> usr/bin recreated in the bundle root), minus /proc, /dev and /sys, which
//     gVisor provides itself;
//   - /dev/null, /dev/zero and /dev/urandom come from gVisor's own /dev (host device nodes are
//     not bound); /proc is the sentry's procfs; /tmp a tmpfs of the sentry's memory.
// Every bind keeps the device and inode of the object that was checked at its source: runsc is
// given that very object, staged by the host (staged_binds.hpp), never the path; and a container
// built ahead can tell when a source was replaced since (bind_sources_unchanged).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "microvm/error.hpp"
#include "host/rootfs.hpp"

namespace microvm::gvisor {

struct OciMount {
    std::string destination;
    std::string type;  // "bind", "tmpfs", "proc"
    std::string source;
    std::vector<std::string> options;
    // "bind": what was checked at source (compared with lstat: the plan resolved its sources),
    // and what the host stages for runsc there (staged_binds.hpp).
    host::FileIdentity source_identity;
    bool directory = false;
    bool writable = false;
};

struct OciFilesystem {
    std::string root_path;  // the bundle's root directory
    std::vector<OciMount> mounts;
    // Symlinks to create in the bundle root before the container starts: (name, target).
    std::vector<std::pair<std::string, std::string>> root_symlinks;
    std::string cwd = "/";
};

// Where the RTFS guest's per-run result directory appears inside the container.
inline constexpr const char* kGuestResultDir = "/.microvm-guest";

// rootfs_dir: the bundle's root. result_dir: host directory bound writable at
// kGuestResultDir, when the program is the RTFS guest. Unsupported when a destination would not
// fit in PATH_MAX inside rootfs_dir.
Expected<OciFilesystem> oci_filesystem(const host::RootfsPlan& plan,
                                       const std::string& rootfs_dir,
                                       const std::optional<std::string>& result_dir);

// A read-only bind of one host file (the launcher) at target, with the identity of the file
// at source now; SetupError when it is gone.
Expected<OciMount> file_bind(const std::string& source, const std::string& target);

// Whether every bind's source path still names the object recorded for it. A container keeps
// the objects it was built with: a source replaced since (renamed over, swapped for a symlink)
// is not what a sandbox built ahead would run with, while a fresh sandbox would bind the new one.
bool bind_sources_unchanged(const std::vector<OciMount>& mounts);

}  // namespace microvm::gvisor
