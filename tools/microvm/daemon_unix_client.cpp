#include "daemon_unix_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "daemon_peer.hpp"
#include "host/sys_error.hpp"
#include "host/unix_address.hpp"
#include "host/unique_fd.hpp"
#include "http_reply_reader.hpp"

namespace microvm::cli {
namespace {

using Why = DaemonFailure::Why;
using Reply = rtfs::Expected<DaemonReply, DaemonFailure>;

rtfs::Unexpected<DaemonFailure> failure(Why why, std::string message) {
    return rtfs::unexpected(DaemonFailure{why, std::move(message)});
}

// How long a connect may wait for room in the daemon's backlog (libcurl's connect timeout).
constexpr auto kConnectTimeout = std::chrono::seconds(10);

enum class Wait { Ready, Cancelled, Failed };

// Waits until fd has one of events (those it has are left in revents), or the request is cancelled.
Wait wait_for(int fd, short events, const CancelToken& cancel, short& revents) {
    for (;;) {
        if (cancel.cancelled()) return Wait::Cancelled;
        pollfd fds[2] = {{fd, events, 0}, {cancel.wait_fd(), POLLIN, 0}};
        const int n = ::poll(fds, cancel.wait_fd() >= 0 ? 2 : 1, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            return Wait::Failed;
        }
        if (cancel.cancelled()) return Wait::Cancelled;
        revents = fds[0].revents;
        if (revents != 0) return Wait::Ready;
    }
}

std::string request_head(const DaemonConnection& conn, const std::string& path, size_t body_size) {
    std::string head = "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nUser-Agent: microvm-cli/1\r\n"
                       "Accept: */*\r\nConnection: close\r\nContent-Type: application/json\r\n";
    if (conn.token) head += "Authorization: Bearer " + *conn.token + "\r\n";
    head += "Content-Length: " + std::to_string(body_size) + "\r\n\r\n";
    return head;
}

}  // namespace

Reply post_over_unix_socket(const DaemonConnection& conn, const std::string& path, const std::string& body,
                            const CancelToken& cancel, const std::function<void(std::string_view)>& on_piece) {
    const std::string where = "the daemon at " + conn.address.text;
    const std::optional<sockaddr_un> addr = host::unix_address(conn.address.unix_path);
    if (!addr) {
        return failure(Why::Unreachable, "cannot connect to " + where + ": the path holds a NUL or is longer than a "
                                             "Unix socket's (" + std::to_string(host::kMaxUnixSocketPath) + " bytes)");
    }
    host::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.valid()) return failure(Why::Unreachable, "cannot connect to " + where + ": " + host::errno_text(errno));
    // A full backlog answers EAGAIN at once: retried until the connect timeout, as libcurl did.
    const auto give_up = std::chrono::steady_clock::now() + kConnectTimeout;
    while (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
        const int err = errno;
        if (err == EINTR) continue;
        if (err != EAGAIN || std::chrono::steady_clock::now() >= give_up) {
            return failure(Why::Unreachable,
                           "cannot connect to " + where + ": " + host::errno_text(err) + " (is microvmd running there?)");
        }
        if (cancel.cancelled()) return failure(Why::Cancelled, "cancelled");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    // Before a byte of the request (its token): the daemon's end must be root's or this user's.
    auto owner = daemon_socket_owner(fd.get());
    if (!owner) return failure(Why::Unreachable, "refused " + where + ": " + owner.error().message);
    if (*owner != 0 && *owner != ::geteuid()) {
        return failure(Why::Unreachable, "refused " + where + ": it is served by uid " + std::to_string(*owner) +
                                             ", neither root nor this user (any local user may listen on a loopback "
                                             "port or socket path the daemon is not holding); nothing was sent");
    }

    // The request. A daemon that answers before it has read it all (a refusal) is read at once:
    // one that then neither reads nor closes would hold the send for good.
    const std::string head = request_head(conn, path, body.size());
    bool answered = false;
    for (std::string_view left[2] = {head, body}; std::string_view& part : left) {
        while (!part.empty() && !answered) {
            const ssize_t n = ::send(fd.get(), part.data(), part.size(), MSG_NOSIGNAL);
            if (n > 0) {
                part.remove_prefix(static_cast<size_t>(n));
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                short revents = 0;
                const Wait w = wait_for(fd.get(), POLLOUT | POLLIN, cancel, revents);
                if (w == Wait::Cancelled) return failure(Why::Cancelled, "cancelled");
                answered = w == Wait::Failed || (revents & (POLLIN | POLLHUP | POLLERR)) != 0;
                continue;
            }
            answered = true;  // the daemon closed its end: its answer, if any, is read below
        }
    }

    // The reply.
    HttpReplyReader reader;
    DaemonReply reply;
    size_t over_cap = 0;
    auto on_body = [&](std::string_view piece) {
        if (on_piece && reader.status() == 200) {
            on_piece(piece);
            return true;
        }
        // The CLI's memory is not the daemon's to fill (a result is large, an error document small).
        const size_t cap = reader.status() == 200 ? kMaxResultBytes : kMaxErrorReplyBytes;
        if (reply.body.size() + piece.size() > cap) {
            over_cap = cap;
            return false;
        }
        reply.body.append(piece);
        return true;
    };
    std::string buffer(64 * 1024, '\0');
    int read_error = 0;
    while (reader.state() == HttpReplyReader::State::Head || reader.state() == HttpReplyReader::State::Body) {
        if (cancel.cancelled()) return failure(Why::Cancelled, "cancelled");
        const ssize_t n = ::recv(fd.get(), buffer.data(), buffer.size(), 0);
        if (n > 0) {
            reader.feed(std::string_view(buffer.data(), static_cast<size_t>(n)), on_body);
        } else if (n == 0) {
            reader.end();
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            short revents = 0;
            const Wait w = wait_for(fd.get(), POLLIN, cancel, revents);
            if (w == Wait::Cancelled) return failure(Why::Cancelled, "cancelled");
            if (w == Wait::Failed) {
                read_error = errno;
                break;
            }
        } else {
            read_error = errno;
            break;
        }
    }
    if (over_cap) {
        return failure(Why::Broken,
                       where + " sent a reply of more than " + std::to_string(over_cap >> 20) + " MiB; it was cut off");
    }
    if (reader.state() != HttpReplyReader::State::Done) {
        const std::string detail = read_error ? host::errno_text(read_error) : reader.problem();
        return failure(Why::Broken, "the connection to " + where + " ended before its answer: " + detail);
    }
    reply.status = reader.status();
    reply.retry_after = reader.retry_after();
    return reply;
}

}  // namespace microvm::cli
