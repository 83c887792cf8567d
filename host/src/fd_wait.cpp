#include "host/fd_wait.hpp"

#include <poll.h>
#include <sys/socket.h>

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

SendAll send_all_until(int fd, std::string_view data, SteadyTime deadline) {
    while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            data.remove_prefix(static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            if (n == 0) errno = EPIPE;
            return SendAll::Failed;
        }
        switch (wait_fd(fd, POLLOUT, deadline)) {
            case FdWait::Ready: break;
            case FdWait::DeadlinePassed: return SendAll::DeadlinePassed;
            case FdWait::Failed: return SendAll::Failed;
        }
    }
    return SendAll::Sent;
}

}  // namespace microvm::host
