// The file-system part of a container's OCI config, from the root the process provider's planner
// derives from the fs policy (process/rootfs.hpp):
//   - the OCI root is always the bundle's own empty directory, read-only: runsc's gofer creates
//     missing mount points inside the root on the host, so the root must never be a host tree;
//   - policy paths and the program's files become bind mounts (ro, or rw for ReadWrite);
//   - a policy naming "/" (and Full) is expressed as one bind per top-level host entry (symlinks
//     such as /bin -> usr/bin recreated in the bundle root), minus /proc, /dev and /sys, which
//     gVisor provides itself;
//   - /dev/null, /dev/zero and /dev/urandom come from gVisor's own /dev (host device nodes are
//     not bound); /proc is the sentry's procfs; /tmp a tmpfs of the sentry's memory.
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

// rootfs_dir: the bundle's (empty) root. result_dir: host directory bound writable at
// kGuestResultDir, when the program is the RTFS guest.
Expected<OciFilesystem> oci_filesystem(const host::RootfsPlan& plan,
                                       const std::string& rootfs_dir,
                                       const std::optional<std::string>& result_dir);

}  // namespace microvm::gvisor
