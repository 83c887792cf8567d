#include "host/pidfd.hpp"

#include <poll.h>

#include <cerrno>

namespace microvm::host {

bool process_exited(int pidfd) {
    struct pollfd p = {pidfd, POLLIN, 0};  // POLLIN once the process exited
    int n;
    do {
        n = ::poll(&p, 1, 0);
    } while (n < 0 && errno == EINTR);
    return n != 0;  // readable, POLLNVAL/POLLERR, or a failed poll
}

}  // namespace microvm::host
