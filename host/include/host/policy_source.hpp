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

#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "host/mountinfo.hpp"
#include "microvm/error.hpp"

namespace microvm::host {

struct FileIdentity {
    dev_t dev = 0;
    ino_t ino = 0;
    bool operator==(const FileIdentity&) const = default;
};

struct CheckedSource {
    std::string real_path;  // absolute, no symlinks
    FileIdentity identity;
    bool directory = false;
    uid_t owner_uid = 0;
    gid_t owner_gid = 0;
};

// path: an absolute path already normalised (no "..", see paths.hpp). mounts: the snapshot of
// the mount table this pass checks against (read when a directory is checked). InvalidInput
// naming the path (as `what`) and the reason when refused or missing. The same checks apply to
// every host file bound for a program to start (rootfs.cpp), whatever the program names.
Expected<CheckedSource> check_policy_source(const std::string& path, MountTable& mounts,
                                            std::string_view what = "fs_policy path");

// The project's own trusted state: boot records and stored wasm modules (/run/microvm for root,
// /run/user/<uid>/microvm or $XDG_RUNTIME_DIR/microvm for a user, whatever this process's
// environment says), the providers' state directories and records (/run/microvm-*, and whatever
// protect_trusted_state() was given), /var/cache/microvm (guest images, VM templates; or
// $MICROVM_IMAGE_CACHE). Files a sandbox writes through an rw= bind belong on the host to the
// directory's owner (root, or the user itself on a user's host), so they would pass every owner
// check and later runs would trust what a program planted: a recorded seccomp program that
// allows everything, a VM template, a decoded module. InvalidInput naming the path (as `what`)
// when real_path, to be writable, holds one of them (or the place one can be made: "/", /run,
// /run/user, a user's runtime directory) or lies inside one.
Expected<void> refuse_writable_trusted_state(const std::string& real_path, std::string_view what);

// Adds a directory (or file) of state a provider keeps, refused as above from then on in this
// process. protect_configured_state() adds every provider's configured state_dir, template_dir,
// image and module_store_dir: the CLI and microvmd call it with their settings, so that a run of
// one provider protects the others' directories too, started or not.
void protect_trusted_state(const std::string& path);
void protect_configured_state(const std::map<std::string, nlohmann::json>& provider_configs);

}  // namespace microvm::host
