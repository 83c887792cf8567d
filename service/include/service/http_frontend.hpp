// The HTTP/1.1 front end of microvmd on cpp-httplib (docs/service.md says why and its limits).
// httplib parses requests, routes them and writes responses; the connections are ours: each
// listener has an accept thread, each connection a thread (at most max_connections, beyond that
// a 503 and close), and a stream whose reads have a deadline for the whole request (headers and
// body) so that a slow client holds a connection thread for at most request_timeout and never an
// execution slot. Owning the socket also gives the peer's credentials (SO_PEERCRED) and notices
// a client that hangs up while its execution runs (the execution is cancelled).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <httplib.h>

#include "host/unique_fd.hpp"
#include "service/hangup_watcher.hpp"
#include "service/listeners.hpp"
#include "service/service.hpp"
#include "service/tokens.hpp"

namespace microvm::service {

// The slowest a client may read an execution's reply once the run has ended (FrontendOptions::
// reply_drain_time): 2 Mbit/s. A fixed 30 s cut a client reading 200 KB/s off a 10 MB result.
inline constexpr size_t kMinDrainBytesPerSecond = 256 << 10;

struct FrontendOptions {
    std::chrono::milliseconds request_timeout{10'000};    // a whole request must arrive in it
    std::chrono::milliseconds keep_alive_timeout{5'000};  // idle between requests
    std::chrono::milliseconds write_timeout{10'000};      // a client that stops reading
    // How long an execution's client may take, once the run has ended, to read its reply (the
    // whole result; streamed, the rest: at most the relay's 1 MiB and the result), plus a second
    // per kMinDrainBytesPerSecond of it; then the connection is shut down. The run's slot is held
    // meanwhile, so what slow readers hold stays bounded by the concurrency.
    std::chrono::milliseconds reply_drain_time{30'000};
    size_t max_connections = 256;
    // Open connections of one peer (a TCP source address; the uid on a Unix socket), counted
    // before any byte is read. A newcomer beyond it closes the peer's oldest connection with no
    // authenticated request in progress (connecting, reading a head, idle between requests);
    // when every one of them serves a request, the newcomer gets 429 and is closed. So one
    // address that opens connections and sends nothing (slowloris) cannot hold every slot of
    // max_connections, nor lock out the token holders at its address (red team K1).
    size_t max_connections_per_peer = 32;
    size_t keep_alive_max = 1000;  // requests per connection
};

// The daemon's default per-peer cap: 32, or half of max_connections (rounded up) when that is
// smaller, so that one peer never holds every connection.
inline size_t default_connections_per_peer(size_t max_connections) {
    return std::min<size_t>(32, client_share(max_connections));
}

struct TlsFiles {
    std::string cert_file;  // PEM chain
    std::string key_file;   // PEM private key
};

class HttpFrontend : private httplib::Server {
  public:
    HttpFrontend(Service& service, FrontendOptions options);
    ~HttpFrontend() override;

    // Opens the listener now (errors before serving). A TCP listener requires tokens; TLS
    // listeners need TCP.
    Expected<void> add_listener(const ListenSpec& spec, std::optional<TokenSet> tokens,
                                std::optional<TlsFiles> tls);
    // The port of the n-th listener (TCP), for tests using port 0.
    int port(size_t n) const;
    void start();
    // Stops accepting, waits up to grace for the requests in flight, then cancels executions
    // and closes the remaining connections.
    void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

    // (method, OpenAPI path) of every route registered, for the OpenAPI test.
    const std::set<std::pair<std::string, std::string>>& routes() const { return routes_; }

    struct Listener;    // defined in the .cpp
    struct Connection;  // defined in the .cpp

  private:
    void route(const std::string& method, const std::string& openapi_path, Handler handler);
    void accept_loop(Listener& l);
    void serve(std::unique_ptr<Connection> c);
    // Under conn_mu_: closes a connection with no authenticated request in progress and takes it
    // out of every count; the largest peer's oldest such one, when there is any.
    void evict(std::list<Connection*>& of_peer, std::list<Connection*>::iterator victim);
    bool evict_idle_of_largest_peer();
    // Under conn_mu_: takes a connection out of its peer's list and the count (unless an
    // eviction did), at its thread's end or when no thread could be made for it.
    void leave_counts(Connection& c);
    // Authentication, the size of a JSON body and its share of the body budget, before any of
    // the body is read: Handled (res holds the refusal) or Unhandled (go on).
    HandlerResponse admit(const httplib::Request& req, httplib::Response& res);
    bool json_body_fits(const httplib::Request& req, httplib::Response& res) const;
    // Reserves the body's share of the client's quota and of the daemon-wide budget: its length,
    // or limit when chunked. The refusal (429 over the quota, 503 over the budget), if any.
    std::optional<ApiError> reserve_body(const httplib::Request& req, size_t limit, Connection& c);
    void execute_handler(const httplib::Request& req, httplib::Response& res, bool in_session);
    // When a reply of `bytes` whose run has just ended must be gone (reply_drain_time).
    std::chrono::steady_clock::time_point drain_deadline(size_t bytes) const;
    // Turns a new connection away (under conn_mu_): a JSON error with Retry-After, in TLS on a
    // TLS listener (see kMaxTlsRefusals), then closed.
    void refuse(std::unique_ptr<Connection> c, const std::string& status_line, const std::string& code,
                const std::string& message);
    // The end of a connection's thread (serve() or a TLS refusal), under conn_mu_: its descriptor
    // closed while no other thread can pick the same number from conn_fds_, and stop() woken.
    void end_thread(std::unique_ptr<Connection> c);
    // Under conn_mu_: a connection's descriptor no longer served (its thread's end, or none to
    // be had), and stop() woken.
    void stop_serving(int fd);

    Service& service_;
    FrontendOptions options_;
    std::vector<std::unique_ptr<Listener>> listeners_;
    std::set<std::pair<std::string, std::string>> routes_;
    host::UniqueFd stop_fd_;  // eventfd: wakes the accept loops
    HangupWatcher hangups_;   // cancels the executions of clients that hang up
    std::atomic<bool> stopping_{false};
    std::mutex conn_mu_;
    std::condition_variable conn_cv_;
    std::set<int> conn_fds_;
    size_t conn_count_ = 0;  // open connections (max_connections), evicted ones not included
    size_t serving_ = 0;     // serve() threads running, evicted ones included (stop() waits for them)
    size_t tls_refusing_ = 0;  // of them, refusals answering in TLS
    // Open connections by peer (Connection::peer), oldest first; an evicted one leaves at once.
    std::map<std::string, std::list<Connection*>> peer_conns_;
};

}  // namespace microvm::service
