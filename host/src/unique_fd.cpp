#include "host/unique_fd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "host/sys_error.hpp"

namespace microvm::host {

namespace {

const char* file_type(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "of an unknown type";
}

}  // namespace

Expected<Pipe> make_pipe(int extra_flags) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | extra_flags) != 0) return sys_failure("pipe2", errno);
    return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Expected<void> set_nonblocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
        return sys_failure("fcntl(O_NONBLOCK)", errno);
    }
    return Ok{};
}

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n > 0) {
            data.remove_prefix(static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = {fd, POLLOUT, 0};
            if (::poll(&p, 1, -1) < 0 && errno != EINTR) return false;
            continue;
        }
        if (n == 0) errno = EIO;
        return false;
    }
    return true;
}

Expected<UniqueFd> open_regular_file(const std::string& path) {
    UniqueFd handle(::open(path.c_str(), O_PATH | O_CLOEXEC));
    if (!handle.valid()) {
        int err = errno;
        return fail(Failure::Kind::InvalidInput, "cannot open '" + path + "': " + errno_text(err));
    }
    struct stat st {};
    if (::fstat(handle.get(), &st) != 0) {
        int err = errno;
        return fail(Failure::Kind::InvalidInput,
                    "cannot examine '" + path + "': " + errno_text(err));
    }
    if (!S_ISREG(st.st_mode)) {
        return fail(Failure::Kind::InvalidInput,
                    "'" + path + "' is " + file_type(st.st_mode) + ", not a regular file");
    }
    // Through the handle's magic link: the inode just checked, whatever the path names by now.
    char link[64];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", handle.get());
    UniqueFd fd(::open(link, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!fd.valid()) {
        int err = errno;
        return fail(Failure::Kind::InvalidInput, "cannot open '" + path + "': " + errno_text(err));
    }
    return fd;
}

void open_closed_standard_descriptors() {
    for (int fd = 0; fd < 3; ++fd) {
        if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
        const int opened = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);  // the lowest free: fd
        if (opened >= 0 && opened != fd) ::close(opened);
    }
}

}  // namespace microvm::host
