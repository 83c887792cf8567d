// The byte stream of one client connection of microvmd's HTTP front end: a socket, or TLS on
// it, whose every wait has a deadline (a client that trickles or stops reading is cut, never
// waited for), with reads buffered and capped per request.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <httplib.h>

#include "host/fd_wait.hpp"

namespace microvm::service {

// One TLS operation (SSL_accept, SSL_read, SSL_write) on a non-blocking socket, waiting for
// the socket between its steps until the deadline: a client that trickles a record a byte at a
// time is cut at the deadline, not kept alive by each byte as a per-recv timeout would.
template <class Op>
int ssl_until(SSL* ssl, int fd, std::chrono::steady_clock::time_point deadline, Op op) {
    for (;;) {
        ERR_clear_error();  // SSL_get_error reads the thread's error queue: only this op's errors
        const int n = op();
        if (n > 0) return n;
        const int err = SSL_get_error(ssl, n);
        if (err == SSL_ERROR_WANT_READ ? host::fd_ready(fd, POLLIN, deadline)
                                       : err == SSL_ERROR_WANT_WRITE && host::fd_ready(fd, POLLOUT, deadline))
            continue;
        return err == SSL_ERROR_ZERO_RETURN ? 0 : -1;
    }
}

// A socket (or TLS on it) whose reads all share one deadline: the end of the current request.
// Reads are buffered (httplib reads a request's lines a byte at a time), and the status line
// and headers of a response with a length wait for its body so that both leave in one send:
// the client wakes once. A response without a length (streamed) or an interim "100 Continue"
// is sent at once.
class ConnStream : public httplib::Stream {
  public:
    using Clock = std::chrono::steady_clock;

    ConnStream(int fd, SSL* ssl, std::chrono::milliseconds write_timeout, std::string ip, int port)
        : fd_(fd), ssl_(ssl), write_timeout_(write_timeout), ip_(std::move(ip)), port_(port) {}
    void set_deadline(Clock::time_point d) { deadline_ = d; }
    // Writes of the current response fail past this point, however steadily the client reads.
    void set_write_deadline(Clock::time_point d) { write_deadline_ = d; }
    // Bytes of a next (pipelined) request already read from the socket.
    bool has_buffered() const { return in_pos_ < in_.size() || (ssl_ && SSL_pending(ssl_) > 0); }
    // Sends held headers of a response that had no body (a HEAD, or a length of 0).
    bool flush();

    bool is_readable() const override { return has_buffered() || host::fd_ready(fd_, POLLIN, deadline_); }
    bool is_writable() const override;
    // The rest of the current request may hand out at most `bytes` more (its head, whose number
    // of header lines httplib does not bound, or a chunked body, whose length is known only at
    // its end); past it reads fail and cap_hit() says why.
    void cap_reads(size_t bytes) { cap_ = bytes; }
    void uncap() {
        cap_.reset();
        cap_hit_ = false;
    }
    bool cap_hit() const { return cap_hit_; }

    ssize_t read(char* ptr, size_t size) override;
    ssize_t read_uncapped(char* ptr, size_t size);
    ssize_t write(const char* ptr, size_t size) override;
    void get_remote_ip_and_port(std::string& ip, int& port) const override {
        ip = ip_;
        port = port_;
    }
    void get_local_ip_and_port(std::string& ip, int& port) const override {
        ip.clear();
        port = 0;
    }
    socket_t socket() const override { return fd_; }

  private:
    static constexpr size_t kReadBuffer = 4096;
    static constexpr size_t kCoalesceAtMost = 64 << 10;  // TLS: a larger body is not copied
    static constexpr size_t kTlsWriteChunk = 64 << 10;   // TLS: bytes per SSL_write (send_some)

    ssize_t read_socket(char* ptr, size_t size);
    ssize_t send_some(const char* ptr, size_t size);
    bool retry_send() const;
    // How long the next write may wait for the client: write_timeout_, cut at write_deadline_.
    Clock::time_point write_by() const { return std::min(Clock::now() + write_timeout_, write_deadline_); }
    bool send_both(std::string_view head, std::string_view body);
    bool send_all(const char* ptr, size_t size);

    int fd_;
    SSL* ssl_;
    std::chrono::milliseconds write_timeout_;
    std::string ip_;
    int port_;
    Clock::time_point deadline_ = Clock::now();
    Clock::time_point write_deadline_ = Clock::time_point::max();
    std::string in_;     // read ahead from the socket
    size_t in_pos_ = 0;  // in_[in_pos_..] not handed out yet
    std::string held_;   // a response's headers waiting for its body
    std::optional<size_t> cap_;  // bytes the current request may still read
    bool cap_hit_ = false;
};

}  // namespace microvm::service
