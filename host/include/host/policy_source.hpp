// A file-system policy path, checked on the host before anything is bound: resolved once
// (never through /proc's magic links), and refused when what it resolves to is the host's root,
// lies inside /proc, /sys or /dev, is a kernel-interface file system (proc, sysfs, cgroup,
// debugfs, nsfs, ...) or holds one beneath it (binds are recursive), or when it was reached
// through a symlink other than one directly in "/" (/lib -> usr/lib): a sandbox with write
// access to a directory can plant symlinks there that the host cannot tell from its owner's. The object
// that was checked is identified by device and inode; whoever binds it later opens it again
// refusing every symlink and compares the identity, so nothing swapped in meanwhile is bound.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>


#include "host/file_identity.hpp"
#include "host/mountinfo.hpp"
#include "host/unique_fd.hpp"
#include "microvm/error.hpp"

namespace microvm::host {

struct CheckedSource {
    std::string real_path;  // absolute, no symlinks
    FileIdentity identity;
    bool directory = false;
    uid_t owner_uid = 0;
    gid_t owner_gid = 0;
};

// path's real path (resolved_path) when no symlink but those directly in "/" leads there
// (Debian's /bin -> usr/bin, /lib -> usr/lib: "/" cannot be bound writable, so no sandbox can
// have planted those), else nullopt. Every other symlink could have been: a sandbox writing to a
// directory as its owner leaves files the host cannot tell from the owner's own, so a path
// reached through one is never taken for where it leads.
std::optional<std::string> real_path_without_planted_links(const std::string& path);

// path: an absolute path already normalised (no "..", see paths.hpp). mounts: the snapshot of
// the mount table this pass checks against (read when a directory is checked). InvalidInput
// naming the path (as `what`) and the reason when refused or missing. The same checks apply to
// every host file bound for a program to start (rootfs.cpp), whatever the program names.
Expected<CheckedSource> check_policy_source(const std::string& path, MountTable& mounts,
                                            std::string_view what = "fs_policy path");

// The checked object again, as an O_PATH descriptor (close-on-exec): real_path (a CheckedSource's)
// opened refusing every symlink and magic link, and its device and inode compared with the
// identity the check recorded. SetupError "bind source '<real_path>' was replaced after it was
// checked" when the object there is another one (renamed over it), a symlink now, gone, or a
// file where a directory was. Whoever hands the source on (a bind, a descriptor for a VMM)
// hands on this descriptor, never the path.
Expected<UniqueFd> open_checked_source(const std::string& real_path, const FileIdentity& identity,
                                       bool directory);

}  // namespace microvm::host
