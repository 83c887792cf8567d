#include "host/remove_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>

#include "host/unique_fd.hpp"

namespace microvm::host {
namespace {

// Deeper than this, a directory is moved up to the top and removed from there: a sandbox can
// build a tree deeper than any recursion (or descriptor limit) could follow.
constexpr int kMaxDepth = 64;

// Returns whether it moved something up (the top needs another pass).
bool remove_entries(int top_fd, int dir_fd, int depth, uint64_t& moved) {
    DIR* d = ::fdopendir(dir_fd);  // takes dir_fd
    if (!d) {
        ::close(dir_fd);
        return false;
    }
    bool again = false;
    while (struct dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        if (::unlinkat(dir_fd, name.c_str(), 0) == 0) continue;
        if (errno != EISDIR) continue;
        if (depth >= kMaxDepth) {
            std::string up = ".microvm-deep-" + std::to_string(moved++);
            if (::renameat(dir_fd, name.c_str(), top_fd, up.c_str()) == 0) again = true;
            continue;
        }
        int sub = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) continue;
        // A mode-000 directory planted by the program: make it searchable first.
        ::fchmod(sub, 0700);
        again = remove_entries(top_fd, sub, depth + 1, moved) || again;
        ::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR);
    }
    ::closedir(d);
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
    uint64_t moved = 0;
    for (int pass = 0; pass < 100000; ++pass) {
        int fd = ::fcntl(top, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) break;
        ::lseek(fd, 0, SEEK_SET);
        if (!remove_entries(top, fd, 0, moved)) break;
    }
    ::rmdir(path.c_str());
}

}  // namespace microvm::host
