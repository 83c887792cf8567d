#include "service/confined_files.hpp"
#include "host/sys_error.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "microvm/random.hpp"
#include "host/scope_exit.hpp"
#include "host/unique_fd.hpp"
#include "host/openat2.hpp"

namespace microvm::service {

namespace {

constexpr uint64_t kResolve =
    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;

// A lease on a file (its owner's, on the host: no sandbox may take one) makes a non-blocking open
// fail with EAGAIN until the kernel breaks it (lease-break-time, 45 s), as renames racing a
// lookup do: the retries are bounded (host/openat2.hpp), where this loop spun a daemon thread
// for as long (review, 2026-12-07).
int openat2_beneath(int dir_fd, const std::string& path, uint64_t flags, uint64_t mode) {
    return host::openat2_fd(dir_fd, path.c_str(), flags | O_CLOEXEC, mode, kResolve);
}

ApiError refused(const std::string& path, int err) {
    if (err == ENOENT) return ApiError{404, "not_found", "no such file in the sandbox: " + path};
    if (err == EXDEV || err == ELOOP)
        return ApiError{403, "path_refused",
                        path + ": refused (it leaves the work directory or crosses a symbolic link)"};
    if (err == ENOTDIR || err == EISDIR)
        return ApiError{403, "path_refused", path + ": refused (" + host::errno_text(err) + ")"};
    if (err == ENAMETOOLONG)  // a file system whose names are shorter than NAME_MAX
        return ApiError{400, "bad_path", path + ": " + host::errno_text(err)};
    if (err == EAGAIN)  // a lease on the file, or renames racing every attempt
        return ApiError{503, "busy", path + ": busy (leased, or renamed during the lookup); try again"};
    if (err == ENOSPC || err == EDQUOT)
        return ApiError{507, "insufficient_storage", path + ": the sandbox's disk is full (" + host::errno_text(err) + ")"};
    return ApiError{500, "io_error", path + ": " + host::errno_text(err)};
}

std::vector<std::string> split(const std::string& path) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= path.size()) {
        size_t slash = path.find('/', start);
        if (slash == std::string::npos) slash = path.size();
        parts.push_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    return parts;
}

}  // namespace

ApiExpected<std::string> check_relative_path(const std::string& path) {
    if (path.empty()) return api_fail(400, "bad_path", "the file path is empty");
    // PATH_MAX counts the terminating NUL: 4096 bytes is the kernel's ENAMETOOLONG.
    if (path.size() >= 4096) return api_fail(400, "bad_path", "the file path is too long");
    if (path.find('\0') != std::string::npos) return api_fail(400, "bad_path", "the file path contains NUL");
    if (path[0] == '/') return api_fail(403, "path_refused", path + ": absolute paths are refused");
    auto parts = split(path);
    if (parts.size() > 255) return api_fail(400, "bad_path", "the file path is too deep");
    for (const auto& p : parts) {
        if (p == "..") return api_fail(403, "path_refused", path + ": '..' is refused");
        if (p.empty() || p == ".") return api_fail(400, "bad_path", path + ": empty or '.' component");
        // NAME_MAX: a longer name was the file system's ENAMETOOLONG, answered 500 (red team).
        if (p.size() > 255) return api_fail(400, "bad_path", "a component of the file path is longer than 255 bytes");
    }
    return path;
}

ApiExpected<void> write_beneath(int dir_fd, const std::string& path, const std::string& data) {
    auto checked = check_relative_path(path);
    if (!checked) return rtfs::Unexpected<ApiError>(checked.error());
    // Parents one by one, each created beneath the previous one's descriptor.
    auto parts = split(path);
    host::UniqueFd parent(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
        const bool made = ::mkdirat(parent.get(), parts[i].c_str(), 0700) == 0;
        if (!made && errno != EEXIST) return rtfs::Unexpected<ApiError>(refused(path, errno));
        int next = openat2_beneath(parent.get(), parts[i], O_RDONLY | O_DIRECTORY, 0);
        if (next < 0) return rtfs::Unexpected<ApiError>(refused(path, errno));
        parent.reset(next);
        // As open as the session's work directory (sessions.cpp), whatever the umask.
        if (made && ::fchmod(next, kSessionDirMode) != 0) return rtfs::Unexpected<ApiError>(refused(path, errno));
    }
    // What lies at the name now, if anything, must be a regular file (a directory, FIFO or
    // symlink the session's programs made there is refused, as before).
    struct stat st {};
    if (::fstatat(parent.get(), parts.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
        return api_fail(403, "path_refused", path + ": not a regular file");
    // Written beside its name, then renamed over it: an upload the session's disk cannot hold
    // (ENOSPC, session_disk.hpp) leaves the file as it was, and nothing half written.
    std::string temp;
    int fd = -1;
    for (int attempt = 0; fd < 0 && attempt < 16; ++attempt) {
        temp = ".microvmd-upload-" + microvm::random_hex(8);
        fd = openat2_beneath(parent.get(), temp, O_WRONLY | O_CREAT | O_EXCL | O_NONBLOCK | O_NOFOLLOW, 0600);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) return rtfs::Unexpected<ApiError>(refused(path, errno));
    host::UniqueFd file(fd);
    // The temporary file, unless it became the upload.
    host::ScopeExit discard([&] { ::unlinkat(parent.get(), temp.c_str(), 0); });
    // Readable and writable by whichever sandbox user the session's provider runs as.
    if (::fchmod(fd, kSessionFileMode) != 0) return rtfs::Unexpected<ApiError>(refused(path, errno));
    if (!host::write_all(fd, data)) return rtfs::Unexpected<ApiError>(refused(path, errno));
    if (::renameat(parent.get(), temp.c_str(), parent.get(), parts.back().c_str()) != 0)
        return rtfs::Unexpected<ApiError>(refused(path, errno));
    discard.dismiss();
    return rtfs::Ok{};
}

ApiExpected<ReadableFile> open_beneath(int dir_fd, const std::string& path, size_t max_bytes) {
    auto checked = check_relative_path(path);
    if (!checked) return rtfs::Unexpected<ApiError>(checked.error());
    int fd = openat2_beneath(dir_fd, path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW, 0);
    if (fd < 0) return rtfs::Unexpected<ApiError>(refused(path, errno));
    ReadableFile file{host::UniqueFd(fd), 0};
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return api_fail(403, "path_refused", path + ": not a regular file");
    if (static_cast<uint64_t>(st.st_size) > max_bytes)
        return api_fail(413, "too_large", path + ": larger than " + std::to_string(max_bytes) + " bytes");
    file.size = static_cast<uint64_t>(st.st_size);
    return file;
}

}  // namespace microvm::service
