#include "host/mount_point.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "host/paths.hpp"
#include "host/sys_error.hpp"

namespace microvm::host {

Expected<UniqueFd> open_mount_point(const std::string& path) {
    // The lexical rule of every policy path: absolute, no "..", "." and "//" dropped.
    auto normal = normalize_absolute_path(path);
    if (!normal) return fail(Failure::Kind::InvalidInput, "mount point: " + normal.error().message);
    constexpr int kFlags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    UniqueFd dir(::open("/", kFlags));
    if (!dir.valid()) return sys_failure("opening /", errno);
    std::string walked;
    for (const std::string& name : path_components(*normal)) {
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
