#include "host/fd_passing.hpp"
#include "host/sys_error.hpp"
#include "host/fd_wait.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <vector>

namespace microvm::host {

bool send_fd(int socket, int fd) noexcept {
    char byte = 'F';
    struct iovec iov = {&byte, 1};
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    std::memset(control, 0, sizeof control);
    struct msghdr msg;
    std::memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
    ssize_t n;
    do {
        n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n == 1;
}

Expected<std::optional<UniqueFd>> receive_fd(int socket, const char* what, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    switch (wait_fd(socket, POLLIN, deadline)) {
        case FdWait::Ready: break;
        case FdWait::DeadlinePassed: return std::optional<UniqueFd>();
        case FdWait::Failed:
            return sys_failure(std::string("waiting for ") + what, errno);
    }
    char byte = 0;
    struct iovec iov = {&byte, 1};
    // Room for several descriptors, so that a message with more than one is seen whole (and
    // each closed) rather than cut to what fits.
    constexpr size_t kRoom = 8;
    alignas(struct cmsghdr) char control[CMSG_SPACE(kRoom * sizeof(int))] = {};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t got;
    do {
        got = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    } while (got < 0 && errno == EINTR);
    // Readable without a message (a spurious wakeup): wait again for what is left of the time.
    if (got < 0 && errno == EAGAIN) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        return receive_fd(socket, what, std::max(left, std::chrono::milliseconds(0)));
    }
    if (got < 0) return sys_failure(std::string("receiving ") + what, errno);
    // Own every descriptor that arrived before judging the message.
    std::vector<UniqueFd> received;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0)) continue;
        const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int fd = -1;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            received.emplace_back(fd);
        }
    }
    if (got == 0 && received.empty()) return std::optional<UniqueFd>();  // the peer closed its end
    if (got != 1 || received.size() != 1 || (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC))) {
        return fail(Failure::Kind::SetupError, std::string("no single ") + what + " was sent");
    }
    return std::optional<UniqueFd>(std::move(received.front()));
}

}  // namespace microvm::host
