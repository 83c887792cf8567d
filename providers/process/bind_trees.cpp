#include "process/bind_trees.hpp"

#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "process/namespaces.hpp"
#include "host/sys_error.hpp"

namespace microvm::process {

using host::UniqueFd;
using host::sys_failure;
using host::errno_text;
namespace {

int open_tree_fd(int dirfd, const char* path, unsigned flags) {
    return static_cast<int>(::syscall(SYS_open_tree, dirfd, path, flags));
}

Expected<UniqueFd> clone_one(const ChildMount& m, int userns) {
    const std::string source = m.source;
    struct open_how how {};
    how.flags = O_PATH | O_CLOEXEC | (m.directory ? O_DIRECTORY : 0);
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    UniqueFd src(static_cast<int>(::syscall(SYS_openat2, AT_FDCWD, source.c_str(), &how, sizeof how)));
    if (!src.valid()) return sys_failure("opening bind source " + source, errno);
    struct stat st;
    if (::fstat(src.get(), &st) != 0 || st.st_dev != m.source_dev || st.st_ino != m.source_ino) {
        return fail(Failure::Kind::SetupError,
                    "bind source '" + source + "' was replaced after it was checked");
    }
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH;
    if (m.directory) flags |= AT_RECURSIVE;
    UniqueFd tree(open_tree_fd(src.get(), "", flags));
    if (!tree.valid()) return sys_failure("cloning bind source " + source, errno);
    struct mount_attr attr {};
    attr.attr_set = m.attr_set;
    attr.propagation = MS_PRIVATE;
    if (userns >= 0) {
        attr.attr_set |= MOUNT_ATTR_IDMAP;
        attr.userns_fd = static_cast<uint64_t>(userns);
    }
    unsigned at = AT_EMPTY_PATH | (m.directory ? AT_RECURSIVE : 0);
    if (::syscall(SYS_mount_setattr, tree.get(), "", at, &attr, sizeof attr) != 0) {
        int err = errno;
        if (userns >= 0 && (err == EINVAL || err == EPERM || err == ENOTSUP)) {
            return fail(Failure::Kind::SetupError,
                        "fs_policy path '" + source +
                            "' cannot be made writable for the sandbox: its file system (or a "
                            "mount below it) does not support idmapped mounts (" +
                            errno_text(err) + ")");
        }
        return sys_failure("setting the attributes of bind " + source, err);
    }
    return tree;
}

}  // namespace

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

// Asks without cloning anything: the kernel checks the right to clone (may_mount) before it
// looks the path up, so an empty path without AT_EMPTY_PATH fails with ENOENT exactly when a
// clone would be allowed (EPERM without the right, ENOSYS or a seccomp error where the call is
// missing). Cloning "/" to find out cost a whole RCU grace period on every run (0.03-5 ms,
// typically 0.6, perf trace): closing a detached tree unmounts it synchronously.
bool host_can_clone_trees() {
    UniqueFd tree(open_tree_fd(AT_FDCWD, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    return !tree.valid() && errno == ENOENT;
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
        RTFS_TRY(UniqueFd tree, clone_one(m, userns));
        builder.set_tree(i, tree.get());
        trees.push_back(std::move(tree));
    }
    return trees;
}

}  // namespace microvm::process
