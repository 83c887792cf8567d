// A bind's source as a detached mount tree of the very object that was checked (root only):
// the source is opened again refusing every symlink (policy sources are real paths), its device
// and inode compared with the identity recorded when it was checked, and that descriptor cloned
// (open_tree), so nothing renamed over the path or swapped for a symlink since is ever bound.
// The tree gets its final attributes (read-only, nosuid, ...), private propagation and, for a
// writable bind of the process provider, an idmapping. Whoever attaches it binds exactly that
// object: the process provider's init attaches the trees it inherits; the gvisor provider
// attaches them in a directory only root can write, whose path it gives runsc.
#pragma once

#include <cstdint>
#include <string>

#include "host/policy_source.hpp"
#include "host/unique_fd.hpp"
#include "microvm/error.hpp"

namespace microvm::host {

struct CheckedTree {
    std::string source;     // a real path (no symlinks)
    FileIdentity identity;  // what was checked there
    bool directory = true;  // a directory (cloned with everything mounted below it), or a file
    uint64_t attr_set = 0;  // MOUNT_ATTR_* for every mount of the tree
    int userns_fd = -1;     // >= 0: idmapped through this user namespace
};

// The tree, or SetupError: "bind source '<source>' was replaced after it was checked" when the
// object there is not the one checked (or is gone, or a symlink), or naming the source and why
// it could not be cloned (an idmapping its file system does not support, named as such).
Expected<UniqueFd> clone_checked_tree(const CheckedTree& bind);

// Whether this process may clone mount trees of its own mount namespace (it is root there).
bool can_clone_trees();

}  // namespace microvm::host
