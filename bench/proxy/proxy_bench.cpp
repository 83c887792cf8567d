// Egress proxy benchmark: a 100 MiB download from a loopback server, direct and through the
// proxy (absolute-form HTTP and a CONNECT tunnel over the loopback listener, a CONNECT tunnel
// over the Unix-socket listener, and libcurl through the proxy), and the latency the proxy adds
// to one small request on a fresh connection.
//
// The server sends its body with sendfile(2) from a memfd, and the raw client reads into a
// 1 MiB buffer and discards: both ends are as cheap as they can be, so the proxy's cost is
// not hidden behind theirs. The tunnel carries a synthetic ClientHello (for the SNI check) and
// then plain HTTP: TLS would cost the same with and without the proxy.
//
// Usage: proxy_bench [--mib N] [--runs N] [--requests N] [--pipe-kib N]
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "proxy/proxy.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using microvm::proxy::Execution;
using microvm::proxy::Proxy;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

void must(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

// GET /big answers `big` bytes, anything else 2 bytes; one request per connection.
class DownloadServer {
  public:
    explicit DownloadServer(size_t big) : big_(big) {
        memfd_ = ::memfd_create("proxy-bench-body", MFD_CLOEXEC);
        must(memfd_ >= 0 && ::ftruncate(memfd_, static_cast<off_t>(big)) == 0, "memfd");
        listen_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof addr;
        must(::bind(listen_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(listen_, 512) == 0 &&
                 ::getsockname(listen_, reinterpret_cast<sockaddr*>(&addr), &length) == 0,
             "listen");
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    ~DownloadServer() {
        stopping_ = true;
        ::shutdown(listen_, SHUT_RDWR);
        thread_.join();
        ::close(listen_);
        ::close(memfd_);
    }
    uint16_t port() const { return port_; }

  private:
    void run() {
        while (!stopping_) {
            const int fd = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            serve(fd);  // one at a time: the benchmark's clients are sequential
            ::close(fd);
        }
    }
    void serve(int fd) {
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        std::string head;
        char buf[4096];
        while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) return;
            head.append(buf, static_cast<size_t>(n));
        }
        const bool big = head.find("GET /big ") != std::string::npos;
        const size_t size = big ? big_ : 2;
        const std::string response = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(size) +
                                     "\r\nConnection: close\r\n\r\n";
        if (::send(fd, response.data(), response.size(), MSG_NOSIGNAL | (size > 2 ? MSG_MORE : 0)) < 0) return;
        if (!big) {
            ::send(fd, "ok", 2, MSG_NOSIGNAL);
            return;
        }
        off_t offset = 0;
        while (static_cast<size_t>(offset) < size) {
            if (::sendfile(fd, memfd_, &offset, size - static_cast<size_t>(offset)) <= 0) return;
        }
    }

    size_t big_;
    int memfd_ = -1;
    int listen_ = -1;
    uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

int connect_tcp(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    must(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "connect");
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int connect_unix(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    must(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "connect unix");
    return fd;
}

void send_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
        const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        must(n > 0, "send");
        off += static_cast<size_t>(n);
    }
}

// Reads the proxy's "200 Connection established" head.
void read_connect_reply(int fd) {
    std::string head;
    char c;
    while (head.find("\r\n\r\n") == std::string::npos) {
        must(::recv(fd, &c, 1, 0) == 1, "CONNECT reply");
        head += c;
    }
    if (head.rfind("HTTP/1.1 200", 0) != 0) throw std::runtime_error("CONNECT refused: " + head);
}

// A ClientHello naming `name` (what a TLS client sends first); see tests/proxy for the layout.
std::string client_hello(const std::string& name) {
    auto u16 = [](size_t v) { return std::string{static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; };
    const std::string list = std::string(1, '\0') + u16(name.size()) + name;
    const std::string sni = u16(0) + u16(list.size() + 2) + u16(list.size()) + list;
    const std::string body = "\x03\x03" + std::string(32, 'r') + std::string(1, '\0') + u16(2) + "\x13\x01" +
                             "\x01" + std::string(1, '\0') + u16(sni.size()) + sni;
    const std::string hs = "\x01" + std::string(1, '\0') + u16(body.size()) + body;
    return "\x16\x03\x01" + u16(hs.size()) + hs;
}

enum class Route { Direct, Forward, Connect, UnixConnect };
const char* route_name(Route r) {
    switch (r) {
        case Route::Direct: return "direct";
        case Route::Forward: return "proxy, HTTP absolute form (loopback TCP)";
        case Route::Connect: return "proxy, CONNECT tunnel (loopback TCP)";
        case Route::UnixConnect: return "proxy, CONNECT tunnel (Unix socket)";
    }
    return "";
}

struct Setup {
    uint16_t server_port;
    uint16_t proxy_port;
    std::string proxy_socket;
};

// One request on a fresh connection; returns the bytes received (head and body).
size_t fetch(const Setup& s, Route route, const std::string& path, std::vector<char>& buf) {
    const std::string host = "bench.test:" + std::to_string(s.server_port);
    const std::string get = "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
    int fd = -1;
    switch (route) {
        case Route::Direct:
            fd = connect_tcp(s.server_port);
            send_all(fd, get);
            break;
        case Route::Forward:
            fd = connect_tcp(s.proxy_port);
            send_all(fd, "GET http://" + host + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
            break;
        case Route::Connect:
        case Route::UnixConnect:
            fd = route == Route::Connect ? connect_tcp(s.proxy_port) : connect_unix(s.proxy_socket);
            send_all(fd, "CONNECT " + host + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
            read_connect_reply(fd);
            send_all(fd, client_hello("bench.test") + get);
            break;
    }
    size_t total = 0;
    while (true) {
        const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n <= 0) break;
        total += static_cast<size_t>(n);
    }
    ::close(fd);
    return total;
}

size_t discard(char*, size_t size, size_t n, void*) { return size * n; }

// The same download with libcurl through the proxy (or direct): what a real client gets.
double curl_rate(const Setup& s, bool via_proxy, size_t expected) {
    CURL* curl = curl_easy_init();
    const std::string url = "http://bench.test:" + std::to_string(s.server_port) + "/big";
    const std::string proxy = "http://127.0.0.1:" + std::to_string(s.proxy_port);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    if (via_proxy) {
        curl_easy_setopt(curl, CURLOPT_PROXY, proxy.c_str());
    } else {
        curl_easy_setopt(curl, CURLOPT_PROXY, "");
        curl_easy_setopt(curl, CURLOPT_CONNECT_TO, nullptr);
    }
    curl_slist* resolve = curl_slist_append(nullptr, ("bench.test:" + std::to_string(s.server_port) + ":127.0.0.1").c_str());
    if (!via_proxy) curl_easy_setopt(curl, CURLOPT_RESOLVE, resolve);
    curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_off_t got = 0;
    const auto t0 = Clock::now();
    const CURLcode rc = curl_easy_perform(curl);
    const double elapsed = seconds_since(t0);
    curl_easy_getinfo(curl, CURLINFO_SIZE_DOWNLOAD_T, &got);
    curl_easy_cleanup(curl);
    curl_slist_free_all(resolve);
    if (rc != CURLE_OK || static_cast<size_t>(got) != expected) throw std::runtime_error("curl download failed");
    return static_cast<double>(expected) / elapsed;
}

// CPU time of the whole process (server, proxy and client threads), in seconds.
double process_cpu() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
    size_t mib = 100;
    int runs = 9;
    int requests = 2000;
    size_t pipe_kib = 1024;
    std::string only;  // one throughput route (for profiling): direct, forward, connect, unix
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const long value = std::atol(argv[i + 1]);
        if (flag == "--mib") mib = static_cast<size_t>(value);
        else if (flag == "--runs") runs = static_cast<int>(value);
        else if (flag == "--requests") requests = static_cast<int>(value);
        else if (flag == "--pipe-kib") pipe_kib = static_cast<size_t>(value);
        else if (flag == "--only") only = argv[i + 1];
        else {
            std::fprintf(stderr, "usage: proxy_bench [--mib N] [--runs N] [--requests N] [--pipe-kib N] "
                                 "[--only direct|forward|connect|unix]\n");
            return 64;
        }
    }
    const std::map<std::string, Route> routes = {
        {"direct", Route::Direct}, {"forward", Route::Forward}, {"connect", Route::Connect}, {"unix", Route::UnixConnect}};
    if (!only.empty() && !routes.count(only)) {
        std::fprintf(stderr, "proxy_bench: unknown route %s\n", only.c_str());
        return 64;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const size_t big = mib << 20;
    DownloadServer server(big);

    microvm::proxy::ProxyOptions options;
    options.resolver = std::make_shared<microvm::proxy::StaticResolver>(
        std::map<std::string, std::vector<std::string>>{{"bench.test", {"127.0.0.1"}}});
    options.pipe_bytes = pipe_kib * 1024;
    Proxy proxy(options);
    if (!proxy.start()) return 1;
    microvm::proxy::Limits limits;
    limits.max_connections = UINT32_MAX;
    limits.max_bytes = UINT64_MAX;
    limits.max_records = SIZE_MAX;
    auto exec = proxy.open({*microvm::NetworkPolicy::parse("allow=bench.test"), limits, /*loopback*/ true});
    const std::string dir = std::filesystem::temp_directory_path() / ("proxy-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directory(dir);
    Setup setup{server.port(), 0, dir + "/proxy.sock"};
    auto port = exec->listen_tcp();
    if (!port || !exec->listen_unix(setup.proxy_socket)) return 1;
    setup.proxy_port = *port;

    std::vector<char> buf(1024 * 1024);
    const size_t expected = big + std::string("HTTP/1.1 200 OK\r\nContent-Length: \r\nConnection: close\r\n\r\n").size() +
                            std::to_string(big).size();
    // Routes interleaved run by run, and each proxied run compared with the direct run next to
    // it: on a shared machine the load drifts, and a ratio of neighbours cancels most of it.
    std::printf("download of %zu MiB from 127.0.0.1, %d interleaved runs (pipe %zu KiB); median rate, "
                "and median ratio to the direct run beside it:\n",
                mib, runs, pipe_kib);
    std::vector<Route> measured = {Route::Direct};
    for (Route route : {Route::Forward, Route::Connect, Route::UnixConnect}) {
        if (only.empty() || routes.at(only) == route) measured.push_back(route);
    }
    std::map<Route, std::vector<double>> rates;
    std::map<Route, std::vector<double>> ratios;
    std::map<Route, std::vector<double>> cpu;  // CPU seconds per GiB, all threads
    for (Route route : measured) fetch(setup, route, "/big", buf);  // warm up
    for (int i = 0; i < runs; ++i) {
        for (Route route : measured) {
            const double cpu0 = process_cpu();
            const auto t0 = Clock::now();
            const size_t got = fetch(setup, route, "/big", buf);
            const double elapsed = seconds_since(t0);
            cpu[route].push_back((process_cpu() - cpu0) / (static_cast<double>(got) / (1 << 30)));
            if (got != expected) {
                std::fprintf(stderr, "%s: got %zu bytes, expected %zu\n", route_name(route), got, expected);
                return 1;
            }
            rates[route].push_back(static_cast<double>(got) / elapsed);
            if (route != Route::Direct) ratios[route].push_back(rates[route].back() / rates[Route::Direct].back());
        }
    }
    for (Route route : measured) {
        std::printf("  %-42s %8.0f MiB/s  CPU %4.2f s/GiB", route_name(route), median(rates[route]) / (1 << 20),
                    median(cpu[route]));
        if (route != Route::Direct) std::printf("  %5.1f%% of direct", 100 * median(ratios[route]));
        std::printf("\n");
    }
    if (only.empty()) {
        std::vector<double> direct, proxied;
        for (int i = 0; i < std::max(3, runs / 3); ++i) {
            direct.push_back(curl_rate(setup, false, big));
            proxied.push_back(curl_rate(setup, true, big));
        }
        std::printf("  %-42s %8.0f MiB/s\n", "libcurl direct", median(direct) / (1 << 20));
        std::printf("  %-42s %8.0f MiB/s  %5.1f%% of libcurl direct\n", "libcurl through the proxy (absolute form)",
                    median(proxied) / (1 << 20), 100 * median(proxied) / median(direct));
    }

    if (requests > 0) std::printf("one small request on a fresh connection, %d each, interleaved (microseconds):\n", requests);
    std::map<Route, std::vector<double>> latency;
    for (int i = 0; i < requests; ++i) {
        for (Route route : {Route::Direct, Route::Forward, Route::Connect, Route::UnixConnect}) {
            const auto t0 = Clock::now();
            fetch(setup, route, "/small", buf);
            latency[route].push_back(seconds_since(t0) * 1e6);
        }
    }
    const double direct_median = median(latency[Route::Direct]);
    for (Route route : {Route::Direct, Route::Forward, Route::Connect, Route::UnixConnect}) {
        if (requests <= 0) break;
        const double m = median(latency[route]);
        std::printf("  %-42s median %7.1f  p90 %7.1f", route_name(route), m, percentile(latency[route], 0.9));
        if (route != Route::Direct) std::printf("  added %6.1f", m - direct_median);
        std::printf("\n");
    }
    auto records = exec->finish();
    size_t failed = 0;
    for (const auto& r : records) failed += r.error.empty() && r.allowed.value_or(false) ? 0 : 1;
    std::printf("proxy records: %zu, with an error or refused: %zu\n", records.size(), failed);
    std::filesystem::remove_all(dir);
    curl_global_cleanup();
    return failed == 0 ? 0 : 1;
}
