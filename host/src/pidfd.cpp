#include "host/pidfd.hpp"

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace microvm::host {

UniqueFd open_pidfd(pid_t pid) {
    return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

bool process_exited(int pidfd) {
    struct pollfd p = {pidfd, POLLIN, 0};  // POLLIN once the process exited
    int n;
    do {
        n = ::poll(&p, 1, 0);
    } while (n < 0 && errno == EINTR);
    return n != 0;  // readable, POLLNVAL/POLLERR, or a failed poll
}

}  // namespace microvm::host
