#include "fake_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace fcfake {

SocketDir::SocketDir() {
    char tmpl[] = "/tmp/fc-test-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

SocketDir::~SocketDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

UnixServer::UnixServer(std::string path, Handler handler)
    : path_(std::move(path)), handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (listen_fd_ < 0 || path_.size() >= sizeof addr.sun_path) {
        throw std::runtime_error("cannot create a socket for " + path_);
    }
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 16) != 0) {
        ::close(listen_fd_);
        throw std::runtime_error("cannot listen on " + path_ + ": " + std::strerror(errno));
    }
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    stop_read_ = p[0];
    stop_write_ = p[1];
    thread_ = std::thread([this] { loop(); });
}

UnixServer::~UnixServer() {
    (void)!::write(stop_write_, "x", 1);
    thread_.join();
    ::close(listen_fd_);
    ::close(stop_read_);
    ::close(stop_write_);
    ::unlink(path_.c_str());
}

void UnixServer::loop() {
    for (;;) {
        pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_read_, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if (fds[1].revents) return;
        int conn = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (conn < 0) continue;
        ++connections_;
        handler_(conn, stop_read_);
        ::close(conn);
    }
}

namespace {

// Waits for conn to be readable. False on stop, timeout or error.
bool wait_readable(int conn, int stop, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd fds[2] = {{conn, POLLIN, 0}, {stop, POLLIN, 0}};
        int n = ::poll(fds, 2, static_cast<int>(left.count()));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || fds[1].revents) return false;
        return true;
    }
}

bool read_more(int conn, int stop, std::string& buf, std::chrono::steady_clock::time_point deadline) {
    if (!wait_readable(conn, stop, deadline)) return false;
    char chunk[4096];
    ssize_t n = ::recv(conn, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<size_t>(n));
    return true;
}

}  // namespace

bool read_until(int conn, int stop, std::string& buf, const std::string& terminator,
                std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (buf.find(terminator) == std::string::npos) {
        if (buf.size() > (1u << 20) || !read_more(conn, stop, buf, deadline)) return false;
    }
    return true;
}

bool read_exactly(int conn, int stop, std::string& buf, size_t total,
                  std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (buf.size() < total) {
        if (!read_more(conn, stop, buf, deadline)) return false;
    }
    return true;
}

bool read_some(int conn, int stop, std::string& buf, std::chrono::milliseconds timeout) {
    return read_more(conn, stop, buf, std::chrono::steady_clock::now() + timeout);
}

bool write_all(int conn, const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::send(conn, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<size_t>(n);
    }
    return true;
}

void wait_for_stop(int stop) {
    pollfd p{stop, POLLIN, 0};
    while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
}

}  // namespace fcfake
