// Helpers of the proxy tests: loopback servers that record what they saw, raw clients that say
// exactly the bytes a test wants, a ClientHello builder, a self-signed certificate, libcurl
// through the proxy, and descriptor counting. Every socket here is on 127.0.0.1 or a Unix path.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "proxy/proxy.hpp"

namespace proxytest {

using namespace std::chrono_literals;

// A TCP server on 127.0.0.1 that runs handler(fd) for each connection on its own thread and
// counts connections. The handler's socket has 5 s receive/send timeouts, so nothing hangs.
class RawServer {
  public:
    using Handler = std::function<void(int fd)>;
    explicit RawServer(Handler handler);
    ~RawServer();
    RawServer(const RawServer&) = delete;
    RawServer& operator=(const RawServer&) = delete;
    uint16_t port() const { return port_; }
    int connections() const { return connections_.load(); }
    // Waits until every connection accepted so far has been handled and closed; false after
    // timeout. (Closing follows the client's end by a moment: fd counts taken before it drift.)
    bool all_closed_within(std::chrono::milliseconds timeout) const;

  private:
    Handler handler_;
    int listen_fd_ = -1;
    std::atomic<int> closed_{0};
    uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<int> connections_{0};
    std::thread acceptor_;
    std::mutex mutex_;
    std::vector<std::thread> workers_;
};

// What a RecordingServer saw of one connection.
struct Seen {
    std::string received;  // every byte the client sent, up to its end of input (or the head)
    uint64_t sent = 0;
};

// Reads what the client sends (until EOF, or until a complete HTTP head and Content-Length body
// when http is set), then answers reply and closes.
class RecordingServer {
  public:
    RecordingServer(std::string reply, bool http);
    uint16_t port() const { return server_.port(); }
    int connections() const { return server_.connections(); }
    // What was seen, once at least `connections` connections were handled (or 3 s passed).
    std::vector<Seen> seen(size_t connections = 0);

  private:
    std::string reply_;
    bool http_;
    std::mutex mutex_;
    std::vector<Seen> seen_;
    std::atomic<int> finished_{0};
    RawServer server_;  // last: stops (joins) before the members it uses go
};

// A blocking client socket with 5 s timeouts.
class RawClient {
  public:
    static RawClient tcp(uint16_t port);
    static RawClient unix_socket(const std::string& path);
    RawClient(RawClient&& other) noexcept;
    ~RawClient();
    int fd() const { return fd_; }
    bool send_all(std::string_view bytes);
    void shutdown_write();
    // Reads until the peer closes (or the timeout); returns everything read.
    std::string read_all(std::chrono::milliseconds timeout = 5s);
    // Reads until `bytes` bytes arrived, the peer closed, or the timeout.
    std::string read_exactly(size_t bytes, std::chrono::milliseconds timeout = 5s);
    // Reads an HTTP response head (to CRLF CRLF).
    std::string read_head(std::chrono::milliseconds timeout = 5s);

  private:
    explicit RawClient(int fd) : fd_(fd) {}
    int fd_ = -1;
};

// A TLS ClientHello record. server_names: one host_name entry each (none: no extension).
struct HelloOptions {
    std::vector<std::string> server_names;
    bool duplicate_extension = false;  // the server_name extension twice
    size_t split_at = 0;               // >0: the handshake split into two records there
    size_t padding = 0;                // bytes of a padding extension
};
std::string client_hello(const HelloOptions& options);
inline std::string client_hello(const std::string& server_name) {
    return client_hello(HelloOptions{{server_name}});
}

// A self-signed certificate (EC P-256) for the names, as PEM, and its key.
struct TestCertificate {
    std::string cert_pem;
    std::string key_pem;
};
TestCertificate make_certificate(const std::vector<std::string>& dns_names);

// A GET through libcurl. proxy: "http://127.0.0.1:P" or "socks5h://127.0.0.1:P".
struct CurlOptions {
    std::string proxy;
    std::string ca_pem;                   // trust this certificate (https URLs)
    std::vector<std::string> connect_to;  // CURLOPT_CONNECT_TO entries
    std::string unix_proxy_socket;        // reach the proxy through this Unix socket instead
    long timeout_ms = 5000;
};
struct CurlResult {
    int code = 0;  // CURLcode
    long status = 0;
    std::string body;
    std::string error;
};
CurlResult curl_get(const std::string& url, const CurlOptions& options);

// Open descriptors of this process.
int open_fds();
// open_fds() once it equals expected, or after the timeout (connections end a moment after
// their clients see the end).
int open_fds_settled(int expected, std::chrono::milliseconds timeout = 2s);
// open_fds() once it has not changed for 200 ms (at most `timeout`): what is left once the
// teardowns of finished work are done.
int open_fds_stable(std::chrono::milliseconds timeout = 5s);

// A proxy with the test resolver (allowed.test, other.test ... -> 127.0.0.1 and the SSRF names),
// started, and one execution listening on a loopback port.
struct TestProxy {
    explicit TestProxy(const std::string& policy, bool permit_loopback = true,
                       microvm::proxy::Limits limits = {}, microvm::proxy::ProxyOptions options = {});
    microvm::proxy::Proxy proxy;
    microvm::proxy::Execution execution;
    uint16_t port = 0;
    std::string http_proxy() const { return "http://127.0.0.1:" + std::to_string(port); }
    std::string socks_proxy() const { return "socks5h://127.0.0.1:" + std::to_string(port); }
    // Waits until n records have been made (connections end a moment after the client sees
    // the end), then takes them.
    std::vector<rtfs::NetworkRequest> records(size_t n, std::chrono::milliseconds wait = 3s);

  private:
    std::vector<rtfs::NetworkRequest> taken_;
};

// The names the test resolver knows.
std::shared_ptr<microvm::proxy::Resolver> test_resolver();
microvm::NetworkPolicy policy(const std::string& text);

// "CONNECT host:port HTTP/1.1" and its blank line.
std::string connect_request(const std::string& authority);

}  // namespace proxytest

namespace httplib {
class SSLServer;
class Server;
}  // namespace httplib

namespace proxytest {

// An HTTPS server (cpp-httplib) on 127.0.0.1 with a certificate for the given names; routes
// GET /hello. Counts requests.
class TlsServer {
  public:
    explicit TlsServer(const std::vector<std::string>& names);
    ~TlsServer();
    TlsServer(const TlsServer&) = delete;
    TlsServer& operator=(const TlsServer&) = delete;
    uint16_t port() const { return port_; }
    int hits() const { return hits_.load(); }
    const std::string& ca_pem() const { return certificate_.cert_pem; }

  private:
    TestCertificate certificate_;
    std::unique_ptr<httplib::SSLServer> server_;
    std::thread thread_;
    uint16_t port_ = 0;
    std::atomic<int> hits_{0};
};

}  // namespace proxytest
