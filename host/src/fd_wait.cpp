#include "host/fd_wait.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>

namespace microvm::host {

int poll_timeout_ms(SteadyTime deadline, int cap_ms) {
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    return static_cast<int>(std::clamp<long long>(ms, 0, cap_ms));
}

FdWait wait_fd(int fd, short events, SteadyTime deadline) {
    for (;;) {
        const int ms = poll_timeout_ms(deadline);
        if (ms == 0) return FdWait::DeadlinePassed;
        struct pollfd p = {fd, events, 0};
        const int n = ::poll(&p, 1, ms);
        if (n > 0) return FdWait::Ready;
        if (n < 0 && errno != EINTR) return FdWait::Failed;
    }
}

}  // namespace microvm::host
