#include "proxy_support.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <netinet/in.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace proxytest {
namespace {

void set_timeouts(int fd, std::chrono::milliseconds t) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(t.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// curl_global_init is not thread-safe: done once, before any test runs.
const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;

}  // namespace

// --- RawServer -------------------------------------------------------------------------------

RawServer::RawServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 64) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
        throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] {
        while (!stopping_) {
            pollfd p{listen_fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            ++connections_;
            set_timeouts(fd, 5s);
            std::lock_guard lock(mutex_);
            workers_.emplace_back([this, fd] {
                handler_(fd);
                ::close(fd);
                ++closed_;
            });
        }
    });
}

bool RawServer::all_closed_within(std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (closed_.load() != connections_.load()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

RawServer::~RawServer() {
    stopping_ = true;
    acceptor_.join();
    std::lock_guard lock(mutex_);
    for (std::thread& t : workers_) t.join();
    ::close(listen_fd_);
}

// --- RecordingServer -------------------------------------------------------------------------

RecordingServer::RecordingServer(std::string reply, bool http)
    : reply_(std::move(reply)), http_(http), server_([this](int fd) {
          Seen seen;
          char buf[65536];
          while (true) {
              if (http_) {
                  const size_t end = seen.received.find("\r\n\r\n");
                  if (end != std::string::npos) {
                      size_t body = 0;
                      const size_t cl = seen.received.find("Content-Length: ");
                      if (cl != std::string::npos && cl < end) body = std::stoul(seen.received.substr(cl + 16));
                      if (seen.received.size() >= end + 4 + body) break;
                  }
              }
              const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
              if (n <= 0) break;
              seen.received.append(buf, static_cast<size_t>(n));
          }
          size_t off = 0;
          while (off < reply_.size()) {
              const ssize_t n = ::send(fd, reply_.data() + off, reply_.size() - off, MSG_NOSIGNAL);
              if (n <= 0) break;
              off += static_cast<size_t>(n);
          }
          seen.sent = off;
          {
              std::lock_guard lock(mutex_);
              seen_.push_back(std::move(seen));
          }
          ++finished_;
      }) {}

std::vector<Seen> RecordingServer::seen(size_t connections) {
    const auto until = std::chrono::steady_clock::now() + 3s;
    while ((finished_.load() < server_.connections() || static_cast<size_t>(finished_.load()) < connections) &&
           std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(5ms);
    }
    std::lock_guard lock(mutex_);
    return seen_;
}

// --- RawClient -------------------------------------------------------------------------------

RawClient RawClient::tcp(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        if (fd >= 0) ::close(fd);
        throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
    }
    set_timeouts(fd, 5s);
    return RawClient(fd);
}

RawClient RawClient::unix_socket(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        if (fd >= 0) ::close(fd);
        throw std::runtime_error("cannot connect to " + path);
    }
    set_timeouts(fd, 5s);
    return RawClient(fd);
}

RawClient::RawClient(RawClient&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

RawClient::~RawClient() {
    if (fd_ >= 0) ::close(fd_);
}

bool RawClient::send_all(std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

void RawClient::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

std::string RawClient::read_exactly(size_t bytes, std::chrono::milliseconds timeout) {
    std::string out;
    const auto until = std::chrono::steady_clock::now() + timeout;
    char buf[65536];
    while (out.size() < bytes && std::chrono::steady_clock::now() < until) {
        pollfd p{fd_, POLLIN, 0};
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0))) <= 0) break;
        const ssize_t n = ::recv(fd_, buf, std::min(sizeof buf, bytes - out.size()), 0);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

std::string RawClient::read_all(std::chrono::milliseconds timeout) { return read_exactly(SIZE_MAX, timeout); }

std::string RawClient::read_head(std::chrono::milliseconds timeout) {
    std::string out;
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (out.find("\r\n\r\n") == std::string::npos && std::chrono::steady_clock::now() < until) {
        std::string one = read_exactly(1, std::chrono::duration_cast<std::chrono::milliseconds>(
                                              until - std::chrono::steady_clock::now()));
        if (one.empty()) break;
        out += one;
    }
    return out;
}

// --- ClientHello -----------------------------------------------------------------------------

namespace {

std::string u16(size_t v) { return {static_cast<char>(v >> 8 & 0xff), static_cast<char>(v & 0xff)}; }
std::string u24(size_t v) { return static_cast<char>(v >> 16 & 0xff) + u16(v); }

}  // namespace

std::string client_hello(const HelloOptions& o) {
    std::string extensions;
    if (!o.server_names.empty()) {
        std::string list;
        for (const std::string& name : o.server_names) list += std::string(1, '\0') + u16(name.size()) + name;
        const std::string data = u16(list.size()) + list;
        const std::string ext = u16(0) + u16(data.size()) + data;
        extensions += ext;
        if (o.duplicate_extension) extensions += ext;
    }
    extensions += u16(0x2b) + u16(3) + "\x02\x03\x04";  // supported_versions: TLS 1.3
    if (o.padding > 0) extensions += u16(0x15) + u16(o.padding) + std::string(o.padding, '\0');
    std::string body = "\x03\x03" + std::string(32, 'r') + "\x20" + std::string(32, 's') +
                       u16(2) + "\x13\x01" + "\x01" + std::string(1, '\0') + u16(extensions.size()) +
                       extensions;
    const std::string handshake = "\x01" + u24(body.size()) + body;
    auto record = [](std::string_view payload) {
        return "\x16\x03\x01" + u16(payload.size()) + std::string(payload);
    };
    if (o.split_at > 0 && o.split_at < handshake.size()) {
        return record(std::string_view(handshake).substr(0, o.split_at)) +
               record(std::string_view(handshake).substr(o.split_at));
    }
    return record(handshake);
}

// --- certificate -----------------------------------------------------------------------------

TestCertificate make_certificate(const std::vector<std::string>& dns_names) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(dns_names.at(0).c_str()), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    std::string san;
    for (const std::string& n : dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(cert, key, EVP_sha256());
    auto pem = [](auto write) {
        BIO* bio = BIO_new(BIO_s_mem());
        write(bio);
        char* data = nullptr;
        const long n = BIO_get_mem_data(bio, &data);
        std::string out(data, static_cast<size_t>(n));
        BIO_free(bio);
        return out;
    };
    TestCertificate out;
    out.cert_pem = pem([&](BIO* b) { PEM_write_bio_X509(b, cert); });
    out.key_pem = pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
    X509_free(cert);
    EVP_PKEY_free(key);
    return out;
}

// --- curl ------------------------------------------------------------------------------------

namespace {

size_t append(char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
}

}  // namespace

CurlResult curl_get(const std::string& url, const CurlOptions& o) {
    CurlResult r;
    if (!curl_ready) {
        r.code = -1;
        r.error = "curl_global_init failed";
        return r;
    }
    CURL* curl = curl_easy_init();
    char error[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROXY, o.proxy.c_str());
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, o.timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
    curl_slist* connect_to = nullptr;
    for (const std::string& c : o.connect_to) connect_to = curl_slist_append(connect_to, c.c_str());
    if (connect_to) curl_easy_setopt(curl, CURLOPT_CONNECT_TO, connect_to);
    curl_blob ca{const_cast<char*>(o.ca_pem.data()), o.ca_pem.size(), CURL_BLOB_COPY};
    if (!o.ca_pem.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &ca);
    r.code = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
    r.error = error[0] ? error : curl_easy_strerror(static_cast<CURLcode>(r.code));
    curl_easy_cleanup(curl);
    curl_slist_free_all(connect_to);
    return r;
}

// --- the rest --------------------------------------------------------------------------------

int open_fds() {
    int n = 0;
    DIR* d = ::opendir("/proc/self/fd");
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] != '.') ++n;
    }
    ::closedir(d);
    return n - 1;  // the directory's own descriptor
}

int open_fds_settled(int expected, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    int n = open_fds();
    while (n != expected && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(5ms);
        n = open_fds();
    }
    return n;
}

int open_fds_stable(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    int n = open_fds();
    auto since = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < until &&
           std::chrono::steady_clock::now() - since < 200ms) {
        std::this_thread::sleep_for(10ms);
        const int now = open_fds();
        if (now != n) {
            n = now;
            since = std::chrono::steady_clock::now();
        }
    }
    return n;
}

std::shared_ptr<microvm::proxy::Resolver> test_resolver() {
    return std::make_shared<microvm::proxy::StaticResolver>(std::map<std::string, std::vector<std::string>>{
        {"allowed.test", {"127.0.0.1"}},
        {"other.test", {"127.0.0.1"}},
        {"a.wild.test", {"127.0.0.1"}},
        {"xn--bcher-kva.test", {"127.0.0.1"}},
        {"loopback.test", {"127.0.0.1"}},
        {"metadata.test", {"169.254.169.254"}},
        {"private.test", {"10.0.0.1"}},
        {"mapped.test", {"::ffff:10.0.0.1"}},
        {"mixed.test", {"10.0.0.1", "127.0.0.1"}},
        {"many.test", {"127.0.0.2", "127.0.0.3", "127.0.0.4"}},
    });
}

microvm::NetworkPolicy policy(const std::string& text) {
    auto p = microvm::NetworkPolicy::parse(text);
    if (!p) throw std::runtime_error(p.error().message);
    return *p;
}

namespace {

microvm::proxy::Execution open_execution(microvm::proxy::Proxy& proxy, const std::string& text,
                                         bool permit_loopback, microvm::proxy::Limits limits) {
    auto started = proxy.start();
    if (!started) throw std::runtime_error(started.error().message);
    auto e = proxy.open({policy(text), limits, permit_loopback});
    if (!e) throw std::runtime_error(e.error().message);
    return std::move(*e);
}

microvm::proxy::ProxyOptions with_test_resolver(microvm::proxy::ProxyOptions o) {
    if (!o.resolver) o.resolver = test_resolver();
    return o;
}

}  // namespace

TestProxy::TestProxy(const std::string& text, bool permit_loopback, microvm::proxy::Limits limits,
                     microvm::proxy::ProxyOptions options)
    : proxy(with_test_resolver(std::move(options))),
      execution(open_execution(proxy, text, permit_loopback, limits)) {
    auto p = execution.listen_tcp(0);
    if (!p) throw std::runtime_error(p.error().message);
    port = *p;
}

std::vector<rtfs::NetworkRequest> TestProxy::records(size_t n, std::chrono::milliseconds wait) {
    const auto until = std::chrono::steady_clock::now() + wait;
    while (true) {
        for (auto& r : execution.take_records()) taken_.push_back(std::move(r));
        if (taken_.size() >= n || std::chrono::steady_clock::now() >= until) break;
        std::this_thread::sleep_for(2ms);
    }
    return std::exchange(taken_, {});
}

std::string connect_request(const std::string& authority) {
    return "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
}

}  // namespace proxytest
