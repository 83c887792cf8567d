// The bind sources runsc is given. runsc's gofer mounts each source by path when the container
// is created, following symlinks: a policy path the host checked could have been renamed over or
// swapped for a symlink (to /etc, /root, ...) by then, by anyone who can write its parent
// directory, and the swapped object would be bound, writable if the policy says so. So runsc
// never gets a policy path: the host clones each checked object itself (host/checked_tree.hpp:
// opened refusing every symlink, same device and inode, open_tree on that descriptor) and
// attaches the clone where nobody else can swap or reach it: the bundle is root's alone (0700),
// so no one else reaches a staged object past the directories above its source that may keep
// them out. Two places:
//   - in the bundle's root directory itself, at the bind's destination (directories on the way
//     made 0755), for a read-only bind that no other mount lies at, above or below, nor one
//     runsc makes where the spec has none (/tmp, /dev, /proc, /sys), when every destination is
//     a clean path: runsc's gofer serves the whole root as one mount, and the spec does not list
//     the bind. runsc serves each bind mount of the spec through a gofer mount of its own, ~3 ms
//     each here (issue 15; docs/benchmarks.md), which most runs' binds (the program, its
//     libraries) no longer pay. runsc revalidates the root's files as it does the spec's binds
//     (--file-access=shared, container.cpp): the program sees the host's changes as it runs;
//   - otherwise in binds/<n>, which the config names: writable binds (the root is read-only),
//     and binds nested in another mount, whose mount points gVisor makes inside the container.
// What runsc binds is the object that was checked, whatever happens to the policy path
// meanwhile and whichever process of runsc's mounts it. Staged mounts are private (no
// propagation either way; dir lies in the bundle's private mount, bundle.hpp, since a mount
// attached under a shared parent would join its propagation) and carry their final attributes
// (nosuid, nodev, read-only for ro binds), which runsc's binds inherit. They are detached on
// destruction (runsc's own mounts live in its namespaces).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gvisor/oci_mounts.hpp"
#include "microvm/error.hpp"

namespace microvm::gvisor {

class StagedBinds {
  public:
    // Creates dir (mode 0700) and stages every bind of mounts: in root (removed from mounts) or
    // in dir (its source rewritten to the staged path). SetupError "bind source '<path>' was
    // replaced after it was checked" when the object at a source is no longer the one recorded
    // for it.
    static Expected<std::unique_ptr<StagedBinds>> stage(const std::string& dir,
                                                        const std::string& root,
                                                        std::vector<OciMount>& mounts);
    ~StagedBinds();
    StagedBinds(const StagedBinds&) = delete;
    StagedBinds& operator=(const StagedBinds&) = delete;

  private:
    explicit StagedBinds(std::string dir) : dir_(std::move(dir)) {}
    // Attaches tree at m's destination inside root (root_path): false, with nothing done, when
    // the way there holds a symlink of the root's or the destination exists.
    Expected<bool> stage_in_root(int root, const std::string& root_path, int tree,
                                 const OciMount& m);
    // Attaches tree at binds/<n> (dir) and points m's source there.
    Expected<void> stage_in_binds_dir(int dir, int tree, OciMount& m);
    std::string dir_;
    size_t mounted_in_dir_ = 0;         // binds/<n> so far
    std::vector<std::string> mounted_;  // staged mount points (none below another), detached
                                        // on destruction
};

}  // namespace microvm::gvisor
