#include "host/hard_links.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "host/sys_error.hpp"
#include "host/unique_fd.hpp"
#include "host/dir_stream.hpp"
#include "host/file_identity.hpp"

namespace microvm::host {
namespace {

constexpr int kMaxDepth = 64;  // one descriptor a level

struct Walk {
    size_t entries = 0;
    size_t max_entries = 0;
    dev_t device = 0;
    HardLinkSearch result;
    bool done() const { return result.linked_file || result.too_large; }
};

Expected<void> walk(int dir_fd, const std::string& path, int depth, Walk& w) {
    DirStream stream = adopt_dir(dir_fd);
    if (!stream) return sys_failure("reading " + path, errno);
    DIR* dir = stream.get();
    while (!w.done()) {
        errno = 0;
        const dirent* e = ::readdir(dir);
        if (!e) {
            if (errno != 0) return sys_failure("reading " + path, errno);
            break;
        }
        if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
        if (++w.entries > w.max_entries) {
            w.result.too_large = true;
            break;
        }
        const std::string child = path + "/" + e->d_name;
        struct stat st;
        if (::fstatat(::dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) continue;  // removed meanwhile
            return sys_failure("examining " + child, errno);
        }
        if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
            w.result.linked_file = child;
            w.result.links = st.st_nlink;
        } else if (S_ISDIR(st.st_mode) && st.st_dev == w.device) {
            if (depth + 1 > kMaxDepth) {
                w.result.too_large = true;
                break;
            }
            const int sub = ::openat(::dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                if (errno == ENOENT) continue;
                return sys_failure("opening " + child, errno);
            }
            // The directory examined, not one swapped in since (from another file system, say).
            if (identity_of_fd(sub) != identity_of(st)) {
                ::close(sub);
                return fail(Failure::Kind::SetupError, child + " was replaced while it was looked through");
            }
            RTFS_CHECK(walk(sub, child, depth + 1, w));
        }
    }
    return Ok{};
}

}  // namespace

Expected<HardLinkSearch> find_hard_linked_file(const std::string& real_path, const FileIdentity& identity,
                                               bool directory, size_t max_entries) {
    RTFS_TRY(UniqueFd source, open_checked_source(real_path, identity, directory));
    struct stat st;
    if (::fstat(source.get(), &st) != 0) return sys_failure("examining " + real_path, errno);
    Walk w;
    w.max_entries = max_entries;
    w.device = st.st_dev;
    if (!S_ISDIR(st.st_mode)) {
        if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
            w.result.linked_file = real_path;
            w.result.links = st.st_nlink;
        }
        return w.result;
    }
    const int dir = ::openat(source.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return sys_failure("opening " + real_path, errno);
    RTFS_CHECK(walk(dir, real_path, 0, w));
    return w.result;
}

}  // namespace microvm::host
