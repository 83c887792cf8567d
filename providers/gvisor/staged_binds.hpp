// The bind sources runsc is given. runsc's gofer mounts each source by path when the container
// is created, following symlinks: a policy path the host checked could have been renamed over or
// swapped for a symlink (to /etc, /root, ...) by then, by anyone who can write its parent
// directory, and the swapped object would be bound, writable if the policy says so. So runsc
// never gets a policy path: the host clones each checked object itself (host/checked_tree.hpp:
// opened refusing every symlink, same device and inode, open_tree on that descriptor) and
// attaches the clone in the bundle's binds/ directory (root's, below directories only root can
// write); the config names binds/<n>, which nobody else can swap. binds/ is mode 0700: no one
// else may reach a staged object there, past the directories above its source that may keep
// them out. What runsc binds is the object that was checked, whatever happens to the policy path
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
    // Creates dir (mode 0700) and stages every bind of mounts there, rewriting its source to the
    // staged path. SetupError "bind source '<path>' was replaced after it was checked" when the
    // object at a source is no longer the one recorded for it.
    static Expected<std::unique_ptr<StagedBinds>> stage(const std::string& dir,
                                                        std::vector<OciMount>& mounts);
    ~StagedBinds();
    StagedBinds(const StagedBinds&) = delete;
    StagedBinds& operator=(const StagedBinds&) = delete;

  private:
    explicit StagedBinds(std::string dir) : dir_(std::move(dir)) {}
    std::string dir_;
    std::vector<std::string> mounted_;  // staged mount points, detached on destruction
};

}  // namespace microvm::gvisor
