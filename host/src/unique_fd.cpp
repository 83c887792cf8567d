#include "host/unique_fd.hpp"

#include <fcntl.h>

#include <cerrno>

#include "host/sys_error.hpp"

namespace microvm::host {

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

std::optional<std::string> read_to_end(int fd, size_t max_bytes) {
    std::string data;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return std::nullopt;
        if (n == 0) return data;
        if (static_cast<size_t>(n) > max_bytes - data.size()) return std::nullopt;
        data.append(buf, static_cast<size_t>(n));
    }
}

}  // namespace microvm::host
