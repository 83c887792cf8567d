#include "firecracker/fc_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "host/unix_address.hpp"
#include "host/fd_wait.hpp"
#include "host/sys_error.hpp"

namespace microvm::firecracker {
namespace {

using namespace std::chrono_literals;
using Kind = FcError::Kind;

// Waits for events on fd. Ok when they came, Timeout at the deadline.
FcExpected<void> wait_for(int fd, short events, Deadline deadline, const std::string& call,
                          const char* waiting_for) {
    switch (host::wait_fd(fd, events, deadline)) {
        case host::FdWait::Ready: return Ok{};
        case host::FdWait::DeadlinePassed: return fc_fail(Kind::Timeout, call, std::string("no ") + waiting_for);
        case host::FdWait::Failed: break;
    }
    return fc_fail(Kind::Protocol, call, "poll: " + host::errno_text(errno));
}

}  // namespace

FcExpected<host::UniqueFd> connect_unix(const std::string& path, Deadline deadline,
                                        const std::string& call) {
    const std::optional<sockaddr_un> addr = host::unix_address(path);
    if (!addr) {
        return fc_fail(Kind::Connect, call,
                       "socket path '" + peer_text(path) + "' is empty or longer than " +
                           std::to_string(host::kMaxUnixSocketPath) + " bytes");
    }
    for (;;) {
        host::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
        if (!fd.valid()) return fc_fail(Kind::Connect, call, "socket: " + host::errno_text(errno));
        if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) == 0) {
            return fd;
        }
        int err = errno;
        if (err == EINTR || err == EINPROGRESS) {
            // Completes asynchronously: writable once done, then SO_ERROR tells how it went.
            RTFS_CHECK(wait_for(fd.get(), POLLOUT, deadline, call, "connection"));
            int so_error = 0;
            socklen_t len = sizeof so_error;
            ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len);
            if (so_error == 0) return fd;
            err = so_error;
        }
        if (err != EAGAIN) {
            return fc_fail(Kind::Connect, call, path + ": " + host::errno_text(err));
        }
        // EAGAIN on a Unix socket: the listener's backlog is full. Retry until the deadline.
        if (host::poll_timeout_ms(deadline) == 0) {
            return fc_fail(Kind::Timeout, call, path + ": the listener's backlog stayed full");
        }
        std::this_thread::sleep_for(5ms);
    }
}

FcExpected<void> send_all(int fd, std::string_view data, Deadline deadline,
                          const std::string& call) {
    switch (host::send_all_until(fd, data, deadline)) {
        case host::SendAll::Sent: return Ok{};
        case host::SendAll::DeadlinePassed: return fc_fail(Kind::Timeout, call, "no room to send the request");
        case host::SendAll::Failed: break;
    }
    return fc_fail(Kind::Protocol, call, "send: " + host::errno_text(errno));
}

FcExpected<size_t> recv_some(int fd, char* buf, size_t max, Deadline deadline,
                             const std::string& call) {
    for (;;) {
        ssize_t n = ::recv(fd, buf, max, 0);
        if (n >= 0) return static_cast<size_t>(n);
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            RTFS_CHECK(wait_for(fd, POLLIN, deadline, call, "answer"));
            continue;
        }
        if (errno == ECONNRESET) return size_t{0};  // a reset is a close for our purposes
        return fc_fail(Kind::Protocol, call, "recv: " + host::errno_text(errno));
    }
}

}  // namespace microvm::firecracker
