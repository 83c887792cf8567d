// A small HTTP/1.1 client over a raw socket for the service tests: Unix or loopback TCP, every
// byte under the test's control (slow headers, garbage, disconnects), chunked replies decoded
// and NDJSON events delivered as they arrive.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <utility>

namespace svctest {

struct HttpReply {
    int status = 0;  // 0: no reply (connection closed or timed out)
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
};

inline int connect_unix(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

inline int connect_tcp(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

inline bool send_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
        ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return false;
        off += static_cast<size_t>(n);
    }
    return true;
}

inline std::string request_text(const std::string& method, const std::string& path, const std::string& body,
                                const std::map<std::string, std::string>& headers = {}) {
    std::string r = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
    for (const auto& [k, v] : headers) r += k + ": " + v + "\r\n";
    if (!body.empty() || method == "POST" || method == "PUT") r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    return r + "\r\n" + body;
}

// Reads what arrives within timeout (until EOF).
class Reader {
  public:
    Reader(int fd, std::chrono::milliseconds timeout) : fd_(fd), deadline_(std::chrono::steady_clock::now() + timeout) {}
    bool fill() {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
        char buf[65536];
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) return false;
        buf_.append(buf, static_cast<size_t>(n));
        return true;
    }
    bool line(std::string& out) {
        for (;;) {
            size_t at = buf_.find("\r\n");
            if (at != std::string::npos) {
                out = buf_.substr(0, at);
                buf_.erase(0, at + 2);
                return true;
            }
            if (!fill()) return false;
        }
    }
    bool bytes(size_t n, std::string& out) {
        while (buf_.size() < n)
            if (!fill()) return false;
        out = buf_.substr(0, n);
        buf_.erase(0, n);
        return true;
    }
    std::string rest() {
        while (fill()) {
        }
        return std::exchange(buf_, {});
    }

  private:
    int fd_;
    std::chrono::steady_clock::time_point deadline_;
    std::string buf_;
};

// Reads one reply; on_body_piece (if set) gets each piece of a chunked body as it arrives.
inline HttpReply read_reply(int fd, std::chrono::milliseconds timeout,
                            const std::function<void(const std::string&)>& on_body_piece = nullptr) {
    HttpReply r;
    Reader in(fd, timeout);
    std::string status_line;
    if (!in.line(status_line) || status_line.size() < 12) return r;
    r.status = std::atoi(status_line.c_str() + 9);
    std::string h;
    while (in.line(h) && !h.empty()) {
        size_t colon = h.find(':');
        if (colon == std::string::npos) continue;
        std::string k = h.substr(0, colon);
        std::transform(k.begin(), k.end(), k.begin(), ::tolower);
        std::string v = h.substr(colon + 1);
        v.erase(0, v.find_first_not_of(' '));
        r.headers[k] = v;
    }
    if (r.headers["transfer-encoding"] == "chunked") {
        std::string size_line, data, crlf;
        while (in.line(size_line)) {
            size_t n = std::strtoul(size_line.c_str(), nullptr, 16);
            if (n == 0) break;
            if (!in.bytes(n, data) || !in.bytes(2, crlf)) break;
            r.body += data;
            if (on_body_piece) on_body_piece(data);
        }
    } else if (r.headers.count("content-length")) {
        in.bytes(std::strtoul(r.headers["content-length"].c_str(), nullptr, 10), r.body);
    } else {
        r.body = in.rest();
    }
    return r;
}

inline HttpReply call_fd(int fd, const std::string& method, const std::string& path, const std::string& body = "",
                         const std::map<std::string, std::string>& headers = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    if (fd < 0) return {};
    send_all(fd, request_text(method, path, body, headers));
    HttpReply r = read_reply(fd, timeout);
    ::close(fd);
    return r;
}

}  // namespace svctest
