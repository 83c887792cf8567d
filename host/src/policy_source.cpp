#include "host/policy_source.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <vector>

#include "host/kernel_interface.hpp"
#include "host/paths.hpp"
#include "host/sys_error.hpp"
#include "host/unique_fd.hpp"
#include "host/openat2.hpp"

namespace microvm::host {
namespace {

// A kernel-interface mount strictly below dir, or empty.
std::string kernel_interface_below(const std::string& dir, MountTable& mounts) {
    for (const MountEntry& m : mounts.entries()) {
        if (m.mount_point != dir && is_within(m.mount_point, dir) &&
            kernel_interface_name(m.fstype)) {
            return m.fstype + " at " + m.mount_point;
        }
    }
    return {};
}

// Where path (absolute, normalised) leads when only the symlinks directly in "/" are followed.
std::string with_root_links_followed(const std::string& path) {
    const size_t end = path.find('/', 1);
    const std::string first = path.substr(0, end);
    char target[PATH_MAX];
    ssize_t n = ::readlink(first.c_str(), target, sizeof target - 1);
    if (n <= 0) return path;
    target[n] = '\0';
    std::string resolved = target[0] == '/' ? std::string(target) : "/" + std::string(target);
    if (end != std::string::npos) resolved += path.substr(end);
    auto normalized = normalize_absolute_path(resolved);
    return normalized ? *normalized : resolved;
}

}  // namespace

std::optional<std::string> real_path_without_planted_links(const std::string& path) {
    std::string real = resolved_path(path);
    if (real != with_root_links_followed(path)) return std::nullopt;
    return real;
}


Expected<CheckedSource> check_policy_source(const std::string& path, MountTable& mounts,
                                            std::string_view what) {
    auto refused = [&](const std::string& p, const std::string& why) -> rtfs::Unexpected<Failure> {
        return fail(Failure::Kind::InvalidInput, std::string(what) + " '" + p + "' " + why);
    };
    // Ordinary symlinks resolve; /proc/self/... do not.
    UniqueFd fd(openat2_fd(AT_FDCWD, path.c_str(), O_PATH | O_CLOEXEC, 0, RESOLVE_NO_MAGICLINKS));
    if (!fd.valid()) {
        int err = errno;
        if (err == ENOENT) return refused(path, "does not exist on the host");
        if (err == ELOOP) return refused(path, "resolves through a magic link (/proc/.../fd)");
        return refused(path, "cannot be opened: " + errno_text(err));
    }
    std::optional<std::string> real = fd_real_path(fd.get());
    if (!real) return refused(path, "cannot be resolved: " + errno_text(errno));
    CheckedSource src;
    src.real_path = std::move(*real);
    const std::string via = src.real_path == path ? "" : "resolves to '" + src.real_path + "', ";
    if (src.real_path == "/") {
        return refused(path, via + "the host's whole tree (use fs_policy full for that)");
    }
    for (const char* dir : {"/proc", "/sys", "/dev"}) {
        if (is_within(src.real_path, dir)) {
            return refused(path, via + "inside " + std::string(dir) +
                                     ", which no sandbox may see from the host");
        }
    }
    struct stat st;
    struct statfs sfs;
    if (::fstat(fd.get(), &st) != 0 || ::fstatfs(fd.get(), &sfs) != 0) {
        return refused(path, "cannot be examined: " + errno_text(errno));
    }
    if (const char* type = kernel_interface(static_cast<unsigned long>(sfs.f_type))) {
        return refused(path, via + "on a " + std::string(type) +
                                 " file system, an interface to the host's kernel");
    }
    // The attack: an earlier sandbox with rw on a directory left a symlink there (to /etc, /root,
    // ...); naming that path later must not bind what it points to, writable or readable as its
    // owner. Judged on what was opened, so a swap after this check changes nothing.
    if (src.real_path != with_root_links_followed(path)) {
        return refused(path, via + "through a symlink, which a sandbox with write access to its "
                                   "directory could have planted; name the real path instead");
    }
    if (S_ISDIR(st.st_mode)) {
        // Fails closed: a table that could not be read (descriptors exhausted, ...) is empty,
        // without even "/", and would hide every mount below the directory.
        if (mounts.entries().empty()) {
            return refused(path, "cannot be checked: /proc/self/mountinfo could not be read");
        }
        if (std::string below = kernel_interface_below(src.real_path, mounts);
            !below.empty()) {
            return refused(path, "holds a " + below + ", an interface to the host's kernel");
        }
    } else if (!S_ISREG(st.st_mode)) {
        return refused(path, "is neither a directory nor a regular file");
    }
    src.identity = {st.st_dev, st.st_ino};
    src.directory = S_ISDIR(st.st_mode);
    src.owner_uid = st.st_uid;
    src.owner_gid = st.st_gid;
    return src;
}

Expected<UniqueFd> open_checked_source(const std::string& real_path, const FileIdentity& identity,
                                       bool directory) {
    UniqueFd src(openat2_fd(AT_FDCWD, real_path.c_str(), O_PATH | O_CLOEXEC | (directory ? O_DIRECTORY : 0), 0,
                            RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS));
    const std::string replaced = "bind source '" + real_path + "' was replaced after it was checked";
    if (!src.valid()) {
        // A symlink now, gone, or a file where a directory was: not what was checked.
        if (errno == ELOOP || errno == ENOENT || errno == ENOTDIR) {
            return fail(Failure::Kind::SetupError, replaced + " (" + errno_text(errno) + ")");
        }
        return sys_failure("opening bind source " + real_path, errno);
    }
    if (identity_of_fd(src.get()) != identity) {
        return fail(Failure::Kind::SetupError, replaced);
    }
    return src;
}

}  // namespace microvm::host
