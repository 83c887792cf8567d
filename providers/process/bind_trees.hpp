// Host side of the binds: when the host may clone mounts (root, host::can_clone_trees), it clones
// each bind of a plan itself, from the object the planner checked (host/checked_tree.hpp: opened
// again refusing every symlink, same device and inode), as a detached tree with its final
// attributes, and hands the trees to the init, which only attaches them. A writable bind also
// gets an idmapping that makes the source's owner the sandbox's user inside that tree: the
// sandbox keeps its own unprivileged uid everywhere else, files it creates there belong to the
// directory's owner, and files of other owners are not writable. Where the file system cannot be
// idmapped the execution is refused, naming the directory. An unprivileged host cannot clone
// trees: its init clones them from the same paths and identities (mounts.hpp), and writable
// binds need no mapping (the sandbox runs as the invoking user there).
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "microvm/error.hpp"
#include "process/child_plan_builder.hpp"
#include "host/unique_fd.hpp"

namespace microvm::process {

// User namespaces that map one host owner (uid, gid) to one sandbox's host ids, made once per
// owner (a sandbox has ids of its own on a root host: each sandbox makes its own).
class IdmapNamespaces {
  public:
    IdmapNamespaces(uid_t sandbox_uid, gid_t sandbox_gid)
        : sandbox_uid_(sandbox_uid), sandbox_gid_(sandbox_gid) {}
    // A descriptor of the namespace (owned here), or -1 when the owner already is the sandbox.
    Expected<int> for_owner(uid_t uid, gid_t gid);

  private:
    uid_t sandbox_uid_;
    gid_t sandbox_gid_;
    std::mutex mu_;
    std::map<std::pair<uid_t, gid_t>, host::UniqueFd> made_;
};

// Clones every bind of builder.plan() and sets its tree_fd; the returned descriptors must stay
// open until the init has started (it inherits its own copies).
Expected<std::vector<host::UniqueFd>> clone_bind_trees(ChildPlanBuilder& builder,
                                                 IdmapNamespaces& idmaps);

}  // namespace microvm::process
