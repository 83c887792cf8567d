#include "conn_stream.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace microvm::service {

namespace {

// httplib writes a response's status line and headers in one call, then its body.
bool is_header_block_with_length(std::string_view d) {
    return d.size() < 16384 && d.starts_with("HTTP/1.1 ") && !d.starts_with("HTTP/1.1 1") && d.ends_with("\r\n\r\n") &&
           d.find("\r\nContent-Length: ") != std::string_view::npos;
}

}  // namespace

bool ConnStream::flush() {
    if (held_.empty()) return true;
    std::string out = std::move(held_);
    held_.clear();
    return send_all(out.data(), out.size());
}

bool ConnStream::is_writable() const {
    for (;;) {
        const int ms = host::poll_timeout_ms(write_by());
        if (ms == 0) return false;
        pollfd p{fd_, POLLOUT, 0};
        const int rc = ::poll(&p, 1, ms);
        if (rc < 0 && errno == EINTR) continue;
        return rc > 0 && !(p.revents & (POLLERR | POLLHUP));
    }
}

ssize_t ConnStream::read(char* ptr, size_t size) {
    if (cap_) {
        if (*cap_ == 0) {
            cap_hit_ = true;
            return -1;
        }
        size = std::min(size, *cap_);
    }
    const ssize_t n = read_uncapped(ptr, size);
    if (cap_ && n > 0) *cap_ -= static_cast<size_t>(n);
    return n;
}

ssize_t ConnStream::read_uncapped(char* ptr, size_t size) {
    if (in_pos_ == in_.size()) {
        if (!is_readable()) return -1;
        if (size >= kReadBuffer) return read_socket(ptr, size);  // a large body read: no copy
        in_.resize(kReadBuffer);
        ssize_t n = read_socket(in_.data(), in_.size());
        in_.resize(n > 0 ? static_cast<size_t>(n) : 0);
        in_pos_ = 0;
        if (n <= 0) return n;
    }
    const size_t n = std::min(size, in_.size() - in_pos_);
    std::memcpy(ptr, in_.data() + in_pos_, n);
    in_pos_ += n;
    return static_cast<ssize_t>(n);
}

ssize_t ConnStream::write(const char* ptr, size_t size) {
    const std::string_view data(ptr, size);
    if (held_.empty() && is_header_block_with_length(data)) {
        held_.assign(data);
        return static_cast<ssize_t>(size);
    }
    if (!held_.empty()) {
        const std::string head = std::move(held_);
        held_.clear();
        return send_both(head, data) ? static_cast<ssize_t>(size) : -1;
    }
    return send_some(ptr, size);
}

ssize_t ConnStream::read_socket(char* ptr, size_t size) {
    if (ssl_) {
        const int len = static_cast<int>(std::min<size_t>(size, INT32_MAX));
        return ssl_until(ssl_, fd_, deadline_, [&] { return SSL_read(ssl_, ptr, len); });
    }
    for (;;) {
        ssize_t n = ::recv(fd_, ptr, size, 0);
        if (n < 0 && errno == EINTR) continue;
        return n;
    }
}

// Each call waits at most write_timeout_ for the client to take some bytes: a client that
// stops reading is dropped then, one that reads slowly is not. So a send never blocks (a
// blocking send of a large reply waited for as long as the client pleased, holding the
// connection's thread), and a TLS write goes in records of at most kTlsWriteChunk, each with
// the deadline of its own (one SSL_write of a whole reply had one deadline for all of it).
ssize_t ConnStream::send_some(const char* ptr, size_t size) {
    if (Clock::now() >= write_deadline_) {
        errno = ETIMEDOUT;
        return -1;
    }
    if (ssl_) {
        const int len = static_cast<int>(std::min(size, kTlsWriteChunk));
        const int n = ssl_until(ssl_, fd_, write_by(), [&] { return SSL_write(ssl_, ptr, len); });
        return n > 0 ? n : -1;
    }
    for (;;) {
        const ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0 || !retry_send()) return n;
    }
}

// After a send that failed: whether to try again (interrupted, or the socket was full and the
// client took bytes within the write timeout).
bool ConnStream::retry_send() const {
    if (errno == EINTR) return true;
    return (errno == EAGAIN || errno == EWOULDBLOCK) && host::fd_ready(fd_, POLLOUT, write_by());
}

// The held headers and the first body write together, without copying the body: one sendmsg
// of both on a plain socket; over TLS one record stream, a small body copied.
bool ConnStream::send_both(std::string_view head, std::string_view body) {
    if (ssl_) {
        if (body.size() > kCoalesceAtMost) return send_all(head.data(), head.size()) && send_all(body.data(), body.size());
        std::string out;
        out.reserve(head.size() + body.size());
        out.append(head).append(body);
        return send_all(out.data(), out.size());
    }
    iovec iov[2] = {{const_cast<char*>(head.data()), head.size()}, {const_cast<char*>(body.data()), body.size()}};
    size_t first = 0;
    for (;;) {
        while (first < 2 && iov[first].iov_len == 0) ++first;
        if (first == 2) break;
        msghdr msg{};
        msg.msg_iov = iov + first;
        msg.msg_iovlen = 2 - first;
        if (Clock::now() >= write_deadline_) return false;
        ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);  // as in send_some
        if (n < 0 && retry_send()) continue;
        if (n <= 0) return false;
        for (auto left = static_cast<size_t>(n); left > 0 && first < 2;) {
            const size_t taken = std::min(left, iov[first].iov_len);
            iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + taken;
            iov[first].iov_len -= taken;
            left -= taken;
            if (iov[first].iov_len == 0) ++first;
        }
    }
    return true;
}

bool ConnStream::send_all(const char* ptr, size_t size) {
    while (size > 0) {
        ssize_t n = send_some(ptr, size);
        if (n <= 0) return false;
        ptr += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

}  // namespace microvm::service
