#include "host/mount_point.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "host/sys_error.hpp"

namespace microvm::host {

Expected<UniqueFd> open_mount_point(const std::string& path) {
    if (path.empty() || path.front() != '/') {
        return fail(Failure::Kind::InvalidInput, "mount point " + path + " is not an absolute path");
    }
    constexpr int kFlags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    UniqueFd dir(::open("/", kFlags));
    if (!dir.valid()) return sys_failure("opening /", errno);
    std::string walked;
    for (size_t start = 1; start <= path.size();) {
        size_t end = path.find('/', start);
        if (end == std::string::npos) end = path.size();
        const std::string name = path.substr(start, end - start);
        start = end + 1;
        if (name.empty()) continue;
        if (name == "." || name == "..") {
            return fail(Failure::Kind::InvalidInput, "mount point " + path + " holds a \"" + name + "\" component");
        }
        walked += "/" + name;
        int fd = ::openat(dir.get(), name.c_str(), kFlags);
        if (fd < 0 && errno == ENOENT) {
            if (::mkdirat(dir.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
                return sys_failure("creating mount point " + walked, errno);
            }
            fd = ::openat(dir.get(), name.c_str(), kFlags);
        }
        if (fd < 0) {
            // O_NOFOLLOW with O_DIRECTORY: a symlink is ENOTDIR (or ELOOP), never followed.
            if (errno == ENOTDIR || errno == ELOOP) {
                return fail(Failure::Kind::SetupError,
                            "mount point " + path + ": " + walked + " is a symlink or not a directory");
            }
            return sys_failure("opening mount point " + walked, errno);
        }
        dir = UniqueFd(fd);
    }
    return dir;
}

std::string mount_target(const UniqueFd& fd) {
    return "/proc/self/fd/" + std::to_string(fd.get());
}

}  // namespace microvm::host
