#include "process/bind_trees.hpp"

#include <sys/mount.h>

#include "host/checked_tree.hpp"
#include "process/namespaces.hpp"

namespace microvm::process {

using host::UniqueFd;

Expected<int> IdmapNamespaces::for_owner(uid_t uid, gid_t gid) {
    if (uid == sandbox_uid_ && gid == sandbox_gid_) return -1;
    std::lock_guard lock(mu_);
    auto it = made_.find({uid, gid});
    if (it != made_.end()) return it->second.get();
    RTFS_TRY(UniqueFd ns,
             user_namespace_fd(std::to_string(uid) + " " + std::to_string(sandbox_uid_) + " 1",
                               std::to_string(gid) + " " + std::to_string(sandbox_gid_) + " 1"));
    int fd = ns.get();
    made_.emplace(std::pair{uid, gid}, std::move(ns));
    return fd;
}

Expected<std::vector<UniqueFd>> clone_bind_trees(ChildPlanBuilder& builder,
                                                 IdmapNamespaces& idmaps) {
    std::vector<UniqueFd> trees;
    const ChildPlan& plan = builder.plan();
    for (size_t i = 0; i < plan.mount_count; ++i) {
        const ChildMount& m = plan.mounts[i];
        if (m.kind != ChildMount::kBind) continue;
        int userns = -1;
        if (!(m.attr_set & MOUNT_ATTR_RDONLY)) {
            RTFS_TRY(userns, idmaps.for_owner(m.owner_uid, m.owner_gid));
        }
        RTFS_TRY(UniqueFd tree,
                 host::clone_checked_tree({m.source, {m.source_dev, m.source_ino}, m.directory,
                                           m.attr_set, userns}));
        builder.set_tree(i, tree.get());
        trees.push_back(std::move(tree));
    }
    return trees;
}

}  // namespace microvm::process
