#include "listener.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "connection.hpp"
#include "host/sys_error.hpp"
#include "host/unix_address.hpp"

namespace microvm::proxy {
namespace {

constexpr int kBacklog = 128;
// Accepts per readiness event, so that a flood of connections cannot hold the loop.
constexpr int kAcceptsPerEvent = 64;

}  // namespace

Expected<UniqueFd> listen_on_unix(const std::string& path, mode_t mode) {
    const std::optional<sockaddr_un> addr = host::unix_address(path);
    if (!addr) {
        return fail(Failure::Kind::InvalidConfig, "bad Unix socket path for the proxy: '" + path +
                                                      "' (empty, NUL, or longer than " +
                                                      std::to_string(host::kMaxUnixSocketPath) + " bytes)");
    }
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return host::sys_failure("socket(AF_UNIX)", errno);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
        return host::sys_failure("bind " + path, errno);
    }
    if (::chmod(path.c_str(), mode) != 0 || ::listen(fd.get(), kBacklog) != 0) {
        const int err = errno;
        ::unlink(path.c_str());
        return host::sys_failure("listen on " + path, err);
    }
    return fd;
}

Expected<UniqueFd> listen_on_loopback(uint16_t& port) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return host::sys_failure("socket(AF_INET)", errno);
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    socklen_t length = sizeof addr;
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd.get(), kBacklog) != 0 ||
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
        return host::sys_failure("listen on 127.0.0.1:" + std::to_string(port), errno);
    }
    port = ntohs(addr.sin_port);
    return fd;
}

Listener::Listener(Core& core, uint64_t id, std::shared_ptr<ExecutionState> execution, UniqueFd fd,
                   std::string unix_path, bool tcp)
    : core_(core), id_(id), execution_(std::move(execution)), fd_(std::move(fd)),
      unix_path_(std::move(unix_path)), tcp_(tcp) {
    if (!unix_path_.empty() && ::lstat(unix_path_.c_str(), &unix_identity_) != 0) unix_path_.clear();
    core_.watch(fd_.get(), Core::key(id_, false), EPOLLIN);  // level-triggered: see on_readable
}

Listener::~Listener() {
    struct stat now {};
    if (!unix_path_.empty() && ::lstat(unix_path_.c_str(), &now) == 0 &&
        now.st_dev == unix_identity_.st_dev && now.st_ino == unix_identity_.st_ino) {
        ::unlink(unix_path_.c_str());
    }
}

// Level-triggered, so that connections left in the backlog (the per-event cap, a pause) are
// announced again.
void Listener::on_readable() {
    for (int i = 0; i < kAcceptsPerEvent; ++i) {
        const int raw = ::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (raw < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                // Out of descriptors or memory: the backlog waits, rather than spin on it.
                paused_until_ = Clock::now() + std::chrono::milliseconds(100);
                core_.rewatch(fd_.get(), Core::key(id_, false), 0);
                core_.note_deadline(paused_until_);
            }
            return;
        }
        UniqueFd client(raw);
        if (execution_->closed) continue;
        if (execution_->open >= execution_->options.limits.max_concurrent) {
            refuse_over_limit();
            continue;
        }
        if (tcp_) {
            const int one = 1;
            ::setsockopt(client.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            const int size = static_cast<int>(std::min<size_t>(core_.options().upload_buffer_bytes, INT32_MAX / 2));
            ::setsockopt(client.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        } else {
            const int size = static_cast<int>(std::min<size_t>(core_.options().unix_send_buffer_bytes, INT32_MAX / 2));
            ::setsockopt(client.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        }
        core_.add_connection(std::make_unique<Connection>(core_, core_.new_id(), execution_, std::move(client)));
    }
}

void Listener::refuse_over_limit() {
    rtfs::NetworkRequest record;
    record.allowed = false;
    record.rule = "limit: " + std::to_string(execution_->options.limits.max_concurrent) +
                  " connections open at once";
    record.error = "refused: " + record.rule + " (closed on accept)";
    execution_->records.add(std::move(record));
}

void Listener::resume() {
    paused_until_ = Clock::time_point::max();
    core_.rewatch(fd_.get(), Core::key(id_, false), EPOLLIN);
}

}  // namespace microvm::proxy
