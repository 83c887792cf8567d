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

}  // namespace microvm::host
