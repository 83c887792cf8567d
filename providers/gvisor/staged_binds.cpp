#include "gvisor/staged_binds.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "gvisor/fs_tree.hpp"
#include "host/checked_tree.hpp"
#include "host/sys_error.hpp"
#include "host/unique_fd.hpp"

namespace microvm::gvisor {
namespace {

uint64_t staged_attributes(const OciMount& m) {
    return MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (m.writable ? 0 : MOUNT_ATTR_RDONLY);
}

// An empty directory or file named name in dir, for a tree to be attached on.
Expected<void> make_mount_point(int dir, const std::string& name, bool directory) {
    if (directory) {
        if (::mkdirat(dir, name.c_str(), 0700) != 0) return host::sys_failure("mkdir " + name, errno);
        return Ok{};
    }
    host::UniqueFd file(
        ::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!file.valid()) return host::sys_failure("creating " + name, errno);
    return Ok{};
}

}  // namespace

Expected<std::unique_ptr<StagedBinds>> StagedBinds::stage(const std::string& dir,
                                                          std::vector<OciMount>& mounts) {
    RTFS_CHECK(make_dir(dir, 0700));
    std::unique_ptr<StagedBinds> staged(new StagedBinds(dir));  // removes dir on failure
    host::UniqueFd at(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!at.valid()) return host::sys_failure("open " + dir, errno);
    size_t n = 0;
    for (OciMount& m : mounts) {
        if (m.type != "bind") continue;
        RTFS_TRY(host::UniqueFd tree,
                 host::clone_checked_tree(
                     {m.source, m.source_identity, m.directory, staged_attributes(m)}));
        const std::string name = std::to_string(n++);
        RTFS_CHECK(make_mount_point(at.get(), name, m.directory));
        if (::move_mount(tree.get(), "", at.get(), name.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
            return host::sys_failure("attaching bind source " + m.source, errno);
        }
        m.source = dir + "/" + name;
        staged->mounted_.push_back(m.source);
    }
    return staged;
}

StagedBinds::~StagedBinds() {
    for (const std::string& point : mounted_) ::umount2(point.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    remove_tree(dir_);
}

}  // namespace microvm::gvisor
