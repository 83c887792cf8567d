// The proxy's event loop and what it owns: listeners, connections, the per-execution state.
// Private to the library. Everything but call(), start(), stop() and the mailbox runs on the
// loop's thread (or, before start and after stop, on the one thread calling in).
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "host/unique_fd.hpp"
#include "lookup_queue.hpp"
#include "proxy/address_filter.hpp"
#include "proxy/proxy.hpp"
#include "proxy/records.hpp"

namespace microvm::proxy {

using Clock = std::chrono::steady_clock;
using host::UniqueFd;

class Connection;
class Listener;

struct ExecutionState {
    explicit ExecutionState(ExecutionOptions options_)
        : options(std::move(options_)), records(options.limits.max_records) {}
    const ExecutionOptions options;
    RecordLog records;  // thread-safe
    // Loop thread only:
    // Upstream connections attempted, and names looked up (Limits::max_connections).
    uint32_t connections_made = 0;
    uint32_t open = 0;              // client connections open (Limits::max_concurrent)
    uint64_t bytes = 0;             // bytes relayed (Limits::max_bytes)
    bool closed = false;

    uint64_t bytes_left() const {
        return bytes >= options.limits.max_bytes ? 0 : options.limits.max_bytes - bytes;
    }
};

// What other threads hand the loop: commands (call()) and resolver answers. Outlives the loop
// (a resolver may answer after the proxy stopped: then the answer is dropped).
struct Mailbox {
    std::mutex mutex;
    int wake_fd = -1;  // the loop's eventfd; -1 once the loop is gone
    std::vector<std::function<void()>> commands;
    std::vector<std::pair<uint64_t, Resolution>> resolutions;

    bool post(std::function<void()> command);
    void post(uint64_t connection, Resolution r);

  private:
    void wake();  // with mutex held
};

class Core {
  public:
    explicit Core(ProxyOptions options);
    ~Core();
    Core(const Core&) = delete;
    Core& operator=(const Core&) = delete;

    Expected<void> start();
    void stop();
    bool stopped() const { return stopped_.load(); }

    // Runs f on the loop's thread and returns its result; inline when the loop is not running.
    // Calls are serialised.
    template <class F>
    auto call(F f) -> decltype(f()) {
        std::unique_lock lock(api_mutex_);
        if (!running_) return f();
        std::packaged_task<decltype(f())()> task(std::move(f));
        auto result = task.get_future();
        mailbox_->post([&task] { task(); });
        return result.get();
    }

    // The per-execution operations behind Execution (through call()).
    Expected<void> listen_unix(const std::shared_ptr<ExecutionState>& execution, const std::string& path,
                               mode_t mode);
    Expected<uint16_t> listen_tcp(const std::shared_ptr<ExecutionState>& execution, uint16_t port);
    Expected<void> adopt_listener(const std::shared_ptr<ExecutionState>& execution, UniqueFd fd);
    void close_execution(ExecutionState& execution);
    uint64_t new_id() { return next_id_.fetch_add(1); }

    // For listeners and connections (loop thread).
    void watch(int fd, uint64_t key, uint32_t events);
    void rewatch(int fd, uint64_t key, uint32_t events);
    void add_connection(std::unique_ptr<Connection> connection);
    void retire(uint64_t connection_id);  // destroyed after the current batch of events
    void note_deadline(Clock::time_point when);
    void mark_ready(uint64_t connection_id);  // more to do now (fairness: see Connection)
    AddressFilter& filter() { return filter_; }
    LookupQueue& lookups() { return lookups_; }
    const std::shared_ptr<Mailbox>& mailbox() { return mailbox_; }
    const ProxyOptions& options() const { return options_; }

    // epoll keys: id * 2 + side; side 1 is a connection's server socket.
    static uint64_t key(uint64_t id, bool server_side) { return id << 1 | (server_side ? 1 : 0); }

  private:
    void run();
    void handle_mailbox();
    void dispatch(uint64_t key, uint32_t events);
    void run_ready();
    void sweep(Clock::time_point now);
    int wait_timeout_ms(Clock::time_point now) const;
    void close_all(const std::string& why);

    ProxyOptions options_;
    std::shared_ptr<Resolver> resolver_;
    std::shared_ptr<Mailbox> mailbox_;
    LookupQueue lookups_;  // the one way to the resolver
    UniqueFd epoll_;
    UniqueFd wake_;
    AddressFilter filter_;
    std::thread thread_;
    std::mutex api_mutex_;  // serialises call(), start(), stop()
    bool running_ = false;
    std::atomic<bool> stopped_{false};
    bool quit_ = false;     // loop thread
    std::atomic<uint64_t> next_id_{1};
    std::unordered_map<uint64_t, std::unique_ptr<Listener>> listeners_;
    std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
    std::vector<std::unique_ptr<Connection>> retired_;
    std::vector<uint64_t> ready_;
    Clock::time_point next_sweep_ = Clock::time_point::max();
};

}  // namespace microvm::proxy
