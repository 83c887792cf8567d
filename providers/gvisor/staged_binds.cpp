#include "gvisor/staged_binds.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <optional>
#include <string_view>

#include "gvisor/fs_tree.hpp"
#include "host/checked_tree.hpp"
#include "host/paths.hpp"
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

Expected<void> attach(int tree, int dir, const std::string& name, const OciMount& m) {
    if (::move_mount(tree, "", dir, name.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
        return host::sys_failure("attaching bind source " + m.source, errno);
    }
    return Ok{};
}

// A destination comparable with the others as a string and detachable by its path as
// /proc/self/mountinfo spells it: normalised (runsc would clean "/srv/x/../d/f" into a tree
// staged in the root: red team, 2026-12-05), not the root, and without the characters mountinfo
// escapes.
bool clean(const std::string& destination) {
    auto normal = host::normalize_absolute_path(destination);
    return normal && *normal == destination && destination != "/" &&
           destination.find_first_of(" \t\n\\") == std::string::npos;
}

// Where runsc mounts something of its own when the spec does not: a writable tmpfs at /tmp when
// the root's /tmp is empty (a read-only /tmp staged in the root became one: red team,
// 2026-12-05), and gVisor's /dev, /proc and /sys.
constexpr std::array<std::string_view, 4> kRunscOwnMounts = {"/tmp", "/dev", "/proc", "/sys"};

// A read-only bind that no other mount of the container (nor one of runsc's own) lies at, above
// or below: it can be attached inside the root directory itself (see the header).
bool fits_in_root(const OciMount& m, const std::vector<OciMount>& mounts) {
    if (m.type != "bind" || m.writable) return false;
    const auto near = [&](std::string_view other) {
        return host::is_within(m.destination, other) || host::is_within(other, m.destination);
    };
    if (std::any_of(kRunscOwnMounts.begin(), kRunscOwnMounts.end(), near)) return false;
    return std::none_of(mounts.begin(), mounts.end(), [&](const OciMount& other) {
        return &other != &m && near(other.destination);
    });
}

// Which binds go in the root: none unless every destination is clean.
std::vector<bool> in_root_candidates(const std::vector<OciMount>& mounts) {
    std::vector<bool> in_root(mounts.size(), false);
    const bool all_clean = std::all_of(mounts.begin(), mounts.end(),
                                       [](const OciMount& m) { return clean(m.destination); });
    if (!all_clean) return in_root;
    for (size_t i = 0; i < mounts.size(); ++i) in_root[i] = fits_in_root(mounts[i], mounts);
    return in_root;
}

// The directory that holds destination's last component below root, made (0755: what the
// sandbox sees of it) where missing, never through a symlink. nullopt when an entry on the way
// is not a directory (a symlink of the root, such as /lib64 -> usr/lib64) or the last one
// exists: that bind stays the spec's, which resolves it inside the container.
Expected<std::optional<host::UniqueFd>> parent_in_root(int root,
                                                       const std::vector<std::string>& parts) {
    host::UniqueFd dir(::fcntl(root, F_DUPFD_CLOEXEC, 0));
    if (!dir.valid()) return host::sys_failure("dup", errno);
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
        const char* name = parts[i].c_str();
        const bool made = ::mkdirat(dir.get(), name, 0755) == 0;
        if (!made && errno != EEXIST) return host::sys_failure("mkdir " + parts[i], errno);
        host::UniqueFd next(
            ::openat(dir.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!next.valid()) {
            if (errno == ENOTDIR || errno == ELOOP) return std::optional<host::UniqueFd>{};
            return host::sys_failure("open " + parts[i], errno);
        }
        // The mode whatever the umask; on the directory opened, never through a name.
        if (made && ::fchmod(next.get(), 0755) != 0) {
            return host::sys_failure("chmod " + parts[i], errno);
        }
        dir = std::move(next);
    }
    struct stat st;
    if (::fstatat(dir.get(), parts.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        return std::optional<host::UniqueFd>{};  // taken (a symlink of the root's)
    }
    return std::optional<host::UniqueFd>(std::move(dir));
}

}  // namespace

Expected<std::unique_ptr<StagedBinds>> StagedBinds::stage(const std::string& dir,
                                                          const std::string& root,
                                                          std::vector<OciMount>& mounts) {
    RTFS_CHECK(make_dir(dir, 0700));
    std::unique_ptr<StagedBinds> staged(new StagedBinds(dir));  // removes dir on failure
    host::UniqueFd dir_at(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir_at.valid()) return host::sys_failure("open " + dir, errno);
    host::UniqueFd root_at(::open(root.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root_at.valid()) return host::sys_failure("open " + root, errno);
    const std::vector<bool> candidates = in_root_candidates(mounts);
    std::vector<OciMount> spec;  // what runsc still binds: the root's binds are its root's
    for (size_t i = 0; i < mounts.size(); ++i) {
        OciMount& m = mounts[i];
        if (m.type == "bind") {
            RTFS_TRY(host::UniqueFd tree,
                     host::clone_checked_tree(
                         {m.source, m.source_identity, m.directory, staged_attributes(m)}));
            bool in_root = false;
            if (candidates[i]) {
                RTFS_TRY(in_root, staged->stage_in_root(root_at.get(), root, tree.get(), m));
            }
            if (in_root) continue;
            RTFS_CHECK(staged->stage_in_binds_dir(dir_at.get(), tree.get(), m));
        }
        spec.push_back(std::move(m));
    }
    mounts = std::move(spec);
    return staged;
}

Expected<bool> StagedBinds::stage_in_root(int root, const std::string& root_path, int tree,
                                          const OciMount& m) {
    const std::vector<std::string> parts = host::path_components(m.destination);
    RTFS_TRY(std::optional<host::UniqueFd> parent, parent_in_root(root, parts));
    if (!parent) return false;
    RTFS_CHECK(make_mount_point(parent->get(), parts.back(), m.directory));
    RTFS_CHECK(attach(tree, parent->get(), parts.back(), m));
    mounted_.push_back(root_path + m.destination);
    return true;
}

Expected<void> StagedBinds::stage_in_binds_dir(int dir, int tree, OciMount& m) {
    const std::string name = std::to_string(mounted_in_dir_++);
    RTFS_CHECK(make_mount_point(dir, name, m.directory));
    RTFS_CHECK(attach(tree, dir, name, m));
    m.source = dir_ + "/" + name;
    mounted_.push_back(m.source);
    return Ok{};
}

StagedBinds::~StagedBinds() {
    for (const std::string& point : mounted_) ::umount2(point.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    remove_tree(dir_);
}

}  // namespace microvm::gvisor
