#include "host/remove_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>

#include "host/unique_fd.hpp"
#include "host/dir_stream.hpp"

namespace microvm::host {
namespace {

// Deeper than this, a directory is moved up to the top and removed from there: a sandbox can
// build a tree deeper than any recursion (or descriptor limit) could follow.
constexpr int kMaxDepth = 64;

// Which mount a descriptor lies on: the mount id where the kernel tells it (a bind of the same
// file system has the same device), else the device.
struct MountId {
    uint64_t id = 0;
    dev_t device = 0;
    bool operator!=(const MountId& o) const { return id != o.id || device != o.device; }
};

MountId mount_of(int fd) {
    MountId m;
    struct statx sx {};
    if (::statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) == 0) {
        if (sx.stx_mask & STATX_MNT_ID) m.id = sx.stx_mnt_id;
        m.device = makedev(sx.stx_dev_major, sx.stx_dev_minor);
        return m;
    }
    struct stat st;
    if (::fstat(fd, &st) == 0) m.device = st.st_dev;
    return m;
}

// A directory entry opened to be emptied, on the tree's own file system only: what is mounted
// below (an operator's bind) is never entered. A directory the program made unreadable (mode
// 000 or 0300) is made searchable first, through an O_PATH descriptor that follows no link.
int open_subdirectory(int dir_fd, const char* name, const MountId& tree_mount) {
    // Looked at first without opening it (O_PATH), so that nothing of another mount is touched.
    UniqueFd path(::openat(dir_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!path.valid() || mount_of(path.get()) != tree_mount) return -1;
    const std::string proc = "/proc/self/fd/" + std::to_string(path.get());
    ::chmod(proc.c_str(), 0700);
    const int sub = ::openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) return -1;
    if (mount_of(sub) != tree_mount) {  // swapped since it was looked at
        ::close(sub);
        return -1;
    }
    return sub;
}

// Moves a too-deep directory up to the top under a name no entry there has: a name the program
// planted (a directory .microvm-deep-0 of its own) is skipped, never replaced.
bool move_up(int dir_fd, const char* name, int top_fd, uint64_t& moved) {
    for (int attempt = 0; attempt < 1000; ++attempt) {
        const std::string up = ".microvm-deep-" + std::to_string(moved++);
        if (::renameat2(dir_fd, name, top_fd, up.c_str(), RENAME_NOREPLACE) == 0) return true;
        // A file system without the flag: a plain rename replaces at most an empty directory.
        if (errno == EINVAL && ::renameat(dir_fd, name, top_fd, up.c_str()) == 0) return true;
        if (errno != EEXIST && errno != ENOTEMPTY && errno != ENOTDIR) return false;
    }
    return false;
}

// Returns whether it moved something up (the top needs another pass).
bool remove_entries(int top_fd, int dir_fd, int depth, const MountId& tree_mount, uint64_t& moved) {
    DirStream d = adopt_dir(dir_fd);  // takes dir_fd
    if (!d) return false;
    bool again = false;
    while (struct dirent* e = ::readdir(d.get())) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        if (::unlinkat(dir_fd, name.c_str(), 0) == 0) continue;
        if (errno != EISDIR) continue;
        if (depth >= kMaxDepth) {
            if (move_up(dir_fd, name.c_str(), top_fd, moved)) again = true;
            continue;
        }
        const int sub = open_subdirectory(dir_fd, name.c_str(), tree_mount);
        if (sub < 0) continue;
        again = remove_entries(top_fd, sub, depth + 1, tree_mount, moved) || again;
        ::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR);
    }
    return again;
}

}  // namespace

void remove_tree(const std::string& path) {
    int top = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (top < 0) {
        ::unlink(path.c_str());  // a symlink or file where the directory was: just the entry
        return;
    }
    UniqueFd top_fd(top);
    const MountId tree_mount = mount_of(top);
    uint64_t moved = 0;
    for (int pass = 0; pass < 100000; ++pass) {
        int fd = ::fcntl(top, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) break;
        ::lseek(fd, 0, SEEK_SET);
        if (!remove_entries(top, fd, 0, tree_mount, moved)) break;
    }
    ::rmdir(path.c_str());
}

}  // namespace microvm::host
