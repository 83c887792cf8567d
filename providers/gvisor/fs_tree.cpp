#include "gvisor/fs_tree.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "host/mountinfo.hpp"
#include "host/remove_tree.hpp"
#include "host/sys_error.hpp"
#include "host/unique_fd.hpp"

namespace microvm::gvisor {

bool remove_tree(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT;
    // What is mounted below (the staged binds, the result tmpfs, the bundle's own mount) is
    // detached first, and nothing is removed while anything still is; the removal itself never
    // enters another mount either (a staged bind whose detach failed keeps its host files).
    host::unmount_below(path);
    if (!host::mount_points_below(path).empty()) return false;
    host::remove_tree(path);  // by descriptor, at any depth, following no link
    return ::lstat(path.c_str(), &st) != 0 && errno == ENOENT;
}

Expected<void> make_dir(const std::string& path, mode_t mode) {
    if (::mkdir(path.c_str(), mode) != 0) return host::sys_failure("mkdir " + path, errno);
    if (::chmod(path.c_str(), mode) != 0) return host::sys_failure("chmod " + path, errno);
    return Ok{};
}

Expected<void> write_whole_file(const std::string& path, const std::string& data) {
    host::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd.valid()) return host::sys_failure("open " + path, errno);
    if (!host::write_all(fd.get(), data)) return host::sys_failure("write " + path, errno);
    return Ok{};
}

std::optional<FileContents> read_file_capped(const std::string& path, uint64_t max_bytes) {
    std::optional<host::OpenedFile> file = host::open_for_judging(path);
    if (!file || !S_ISREG(file->st.st_mode)) return std::nullopt;
    const host::UniqueFd& fd = file->fd;
    FileContents out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return std::nullopt;
        if (n == 0) break;
        uint64_t room = max_bytes - out.data.size();
        if (static_cast<uint64_t>(n) > room) {
            out.data.append(buf, static_cast<size_t>(room));
            out.truncated = true;
            break;
        }
        out.data.append(buf, static_cast<size_t>(n));
    }
    return out;
}

}  // namespace microvm::gvisor
