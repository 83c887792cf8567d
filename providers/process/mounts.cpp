#include "process/mounts.hpp"
#include "host/openat2.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstring>

namespace microvm::process {
namespace {

bool set_attributes(int tree, bool recursive, uint64_t attr_set) {
    struct mount_attr attr {};
    attr.attr_set = attr_set;
    attr.propagation = MS_PRIVATE;
    unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
    return ::mount_setattr(tree, "", flags, &attr, sizeof attr) == 0;
}

// Opens source without following any symlink, checks it is the object the host checked, and
// clones it as a detached mount tree.
bool clone_tree(const ChildMount& m, int detail, int& tree, ChildFailure& f) {
    int src = host::openat2_fd(AT_FDCWD, m.source, O_PATH | O_CLOEXEC | (m.directory ? O_DIRECTORY : 0), 0,
                               RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (src < 0) return failed(f, ChildStep::kOpenSource, detail);
    struct stat st;
    if (::fstat(src, &st) != 0 || st.st_dev != m.source_dev || st.st_ino != m.source_ino) {
        ::close(src);
        errno = ESTALE;  // replaced since the host checked it
        return failed(f, ChildStep::kOpenSource, detail);
    }
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH;
    if (m.directory) flags |= AT_RECURSIVE;
    tree = ::open_tree(src, "", flags);
    int saved = errno;
    ::close(src);
    errno = saved;
    if (tree < 0) return failed(f, ChildStep::kCloneTree, detail);
    if (!set_attributes(tree, m.directory, m.attr_set)) {
        return failed(f, ChildStep::kMountAttributes, detail);
    }
    return true;
}

// Creates target (relative to root) and its missing parents inside our own tmpfs mounts, never
// following a symlink, and returns an O_PATH descriptor of it.
int make_mount_point(int root, const char* target, bool directory) {
    if (target[0] == '\0') return ::fcntl(root, F_DUPFD_CLOEXEC, 0);
    char path[PATH_MAX];
    size_t len = std::strlen(target);
    if (len >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    std::memcpy(path, target, len + 1);
    int dir = ::fcntl(root, F_DUPFD_CLOEXEC, 0);
    char* part = path;
    while (dir >= 0) {
        char* slash = std::strchr(part, '/');
        bool last = slash == nullptr;
        if (!last) *slash = '\0';
        int next = ::openat(dir, part, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT) {
            if (!last || directory) {
                if (::mkdirat(dir, part, 0755) != 0 && errno != EEXIST) break;
            } else {
                int file =
                    ::openat(dir, part, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (file < 0 && errno != EEXIST) break;
                if (file >= 0) ::close(file);
            }
            next = ::openat(dir, part, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        }
        int saved = errno;
        ::close(dir);
        errno = saved;
        if (next < 0) return -1;
        struct stat st;
        if (::fstat(next, &st) != 0 || S_ISLNK(st.st_mode) ||
            ((!last || directory) && !S_ISDIR(st.st_mode))) {
            ::close(next);
            errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
            return -1;
        }
        if (last) return next;
        dir = next;
        part = slash + 1;
    }
    int saved = errno;
    if (dir >= 0) ::close(dir);
    errno = saved;
    return -1;
}

// A fresh filesystem instance (tmpfs or proc) as a detached mount.
int new_filesystem(const char* type, const char* size, const char* mode, uint64_t attrs) {
    int fs = ::fsopen(type, FSOPEN_CLOEXEC);
    if (fs < 0) return -1;
    bool ok = (!size || ::fsconfig(fs, FSCONFIG_SET_STRING, "size", size, 0) == 0) &&
              (!mode || ::fsconfig(fs, FSCONFIG_SET_STRING, "mode", mode, 0) == 0) &&
              ::fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) == 0;
    int mnt = ok ? ::fsmount(fs, FSMOUNT_CLOEXEC, static_cast<unsigned>(attrs)) : -1;
    int saved = errno;
    ::close(fs);
    errno = saved;
    return mnt;
}

bool attach(int tree, int target) {
    return ::move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) ==
           0;
}

bool mount_one(const ChildMount& m, int index, int root, MountState& state, ChildFailure& f) {
    int target = make_mount_point(root, m.target, m.kind != ChildMount::kBind || m.directory);
    if (target < 0) return failed(f, ChildStep::kMountPoint, index);
    int tree = -1;
    ChildStep step = ChildStep::kMoveMount;
    switch (m.kind) {
        case ChildMount::kBind:
            tree = state.trees[index];
            state.trees[index] = -1;
            break;
        case ChildMount::kTmpfs:
            step = ChildStep::kTmpfs;
            tree = new_filesystem("tmpfs", m.tmpfs_size, m.tmpfs_mode, m.attr_set);
            break;
        case ChildMount::kProc:
            step = ChildStep::kProc;
            tree = new_filesystem("proc", nullptr, nullptr, m.attr_set);
            break;
        case ChildMount::kDevpts:
        case ChildMount::kMqueue:
        case ChildMount::kHostReadOnly:
            // Planned only over the host's root (Full), where the root is not rebuilt.
            step = ChildStep::kPrivateInstance;
            errno = EINVAL;
            break;
    }
    bool ok = tree >= 0 && attach(tree, target);
    int saved = errno;
    if (tree >= 0) ::close(tree);
    ::close(target);
    errno = saved;
    return ok || failed(f, step, index);
}

// The planner's mount attributes as mount(2) flags: the same nosuid, nodev and noexec as the
// rebuilt root's instances get (child_plan_builder.cpp decides them, for both paths).
unsigned long mount_flags(uint64_t attr_set) {
    unsigned long flags = 0;
    if (attr_set & MOUNT_ATTR_RDONLY) flags |= MS_RDONLY;
    if (attr_set & MOUNT_ATTR_NOSUID) flags |= MS_NOSUID;
    if (attr_set & MOUNT_ATTR_NODEV) flags |= MS_NODEV;
    if (attr_set & MOUNT_ATTR_NOEXEC) flags |= MS_NOEXEC;
    return flags;
}

// The host tree stays (fs Full): /proc is replaced by one of the new pid namespace, and the
// host's /dev/shm, /dev/pts (with /dev/ptmx), /dev/mqueue and others-writable memory file
// systems by private instances, whose use ends with the sandbox and counts against its limits;
// the host's other memory file systems are made read-only (host/full_memory_mounts.hpp).
bool mount_private_instances_on_host_root(const ChildPlan& plan, ChildFailure& f) {
    for (size_t i = 0; i < plan.mount_count; ++i) {
        const ChildMount& m = plan.mounts[i];
        char path[PATH_MAX] = "/";
        std::strncat(path, m.target, sizeof path - 2);
        const int index = static_cast<int>(i);
        switch (m.kind) {
            case ChildMount::kProc:
                if (::mount("proc", path, "proc", mount_flags(m.attr_set), nullptr) != 0) {
                    return failed(f, ChildStep::kProc, index);
                }
                break;
            case ChildMount::kTmpfs: {
                char options[64];
                std::snprintf(options, sizeof options, "size=%s,mode=%s", m.tmpfs_size, m.tmpfs_mode);
                if (::mount("tmpfs", path, "tmpfs", mount_flags(m.attr_set), options) != 0) {
                    return failed(f, ChildStep::kTmpfs, index);
                }
                break;
            }
            case ChildMount::kDevpts: {
                char options[96];
                std::snprintf(options, sizeof options, "newinstance,ptmxmode=0666,mode=0620,max=%u", kPtysPerSandbox);
                if (::mount("devpts", path, "devpts", mount_flags(m.attr_set), options) != 0) {
                    return failed(f, ChildStep::kPrivateInstance, index);
                }
                // /dev/ptmx opens the host's instance whatever is mounted on /dev/pts.
                char ptmx[PATH_MAX];
                std::snprintf(ptmx, sizeof ptmx, "%s/ptmx", path);
                if (::mount(ptmx, "/dev/ptmx", nullptr, MS_BIND, nullptr) != 0) {
                    return failed(f, ChildStep::kPrivateInstance, index);
                }
                break;
            }
            case ChildMount::kMqueue:
                if (::mount("mqueue", path, "mqueue", mount_flags(m.attr_set), nullptr) != 0) {
                    return failed(f, ChildStep::kPrivateInstance, index);
                }
                break;
            case ChildMount::kHostReadOnly: {
                // Only the read-only flag is added, to this mount alone (full_memory_mounts.hpp):
                // the host's other flags stay (and are locked).
                struct mount_attr attr {};
                attr.attr_set = m.attr_set;
                // ENOENT, EINVAL (no longer a mount's root): unmounted by the host since the plan,
                // nothing of it left to write.
                if (::mount_setattr(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, &attr, sizeof attr) != 0 &&
                    errno != ENOENT && errno != EINVAL) {
                    return failed(f, ChildStep::kMountAttributes, index);
                }
                break;
            }
            case ChildMount::kBind:
                break;  // not planned over the host's root
        }
    }
    return ::chdir(plan.workdir) == 0 || failed(f, ChildStep::kWorkdir);
}

}  // namespace

bool clone_bind_sources(const ChildPlan& plan, MountState& state, ChildFailure& f) {
    for (int& t : state.trees) t = -1;
    // Nothing we mount may propagate back to the host's mount namespace.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
        return failed(f, ChildStep::kMakePrivate);
    }
    if (plan.host_root) return true;
    if (plan.mount_count > kMaxChildMounts) {
        errno = E2BIG;
        return failed(f, ChildStep::kOpenSource);
    }
    for (size_t i = 0; i < plan.mount_count; ++i) {
        const ChildMount& m = plan.mounts[i];
        if (m.kind != ChildMount::kBind) continue;
        if (m.tree_fd >= 0) {
            state.trees[i] = m.tree_fd;
        } else if (!clone_tree(m, static_cast<int>(i), state.trees[i], f)) {
            return false;
        }
    }
    return true;
}

bool assemble_root(const ChildPlan& plan, MountState& state, ChildFailure& f) {
    if (plan.host_root) return mount_private_instances_on_host_root(plan, f);

    int root = new_filesystem("tmpfs", "1048576", "0755", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
    if (root < 0) return failed(f, ChildStep::kCreateRoot);
    // pivot_root needs the new root attached somewhere in our (private) mount tree.
    if (::move_mount(root, "", AT_FDCWD, plan.attach_dir, MOVE_MOUNT_F_EMPTY_PATH) != 0) {
        return failed(f, ChildStep::kAttachRoot);
    }
    for (size_t i = 0; i < plan.mount_count; ++i) {
        if (!mount_one(plan.mounts[i], static_cast<int>(i), root, state, f)) return false;
    }
    for (size_t i = 0; i < plan.symlink_count; ++i) {
        if (::symlinkat(plan.symlink_targets[i], root, plan.symlink_paths[i]) != 0) {
            return failed(f, ChildStep::kSymlink, static_cast<int>(i));
        }
    }
    // pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves only
    // the new root, with nothing of the host tree reachable.
    if (::fchdir(root) != 0 || ::syscall(SYS_pivot_root, ".", ".") != 0) {
        return failed(f, ChildStep::kPivotRoot);
    }
    ::close(root);
    if (::umount2(".", MNT_DETACH) != 0) return failed(f, ChildStep::kDetachOldRoot);
    if (::chdir("/") != 0) return failed(f, ChildStep::kPivotRoot);
    struct mount_attr attr {};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (::mount_setattr(AT_FDCWD, "/", 0, &attr, sizeof attr) != 0) {
        return failed(f, ChildStep::kRootReadOnly);
    }
    return ::chdir(plan.workdir) == 0 || failed(f, ChildStep::kWorkdir);
}

}  // namespace microvm::process
