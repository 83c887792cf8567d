// Name resolution for the proxy, which resolves every name itself (the sandbox has no resolver
// of its own to ask) and connects to an address it has checked. Resolution runs off the event
// loop: a lookup can take seconds, and no client may stall the others.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "proxy/socket_address.hpp"

namespace microvm::proxy {

struct Resolution {
    std::vector<SocketAddress> addresses;  // port 0: the proxy sets the port it connects to
    std::string error;                     // why there is no address
};

class Resolver {
  public:
    using Callback = std::function<void(Resolution)>;
    virtual ~Resolver() = default;
    // Resolves name, a canonical host name (never an IP literal). Calls done exactly once, from
    // any thread, possibly before returning; never blocks the caller on the network. The proxy
    // bounds the wait itself (ProxyOptions::resolve_timeout) and ignores a late answer.
    virtual void resolve(const std::string& name, Callback done) = 0;
};

// getaddrinfo(3) on up to `threads` worker threads started on demand. getaddrinfo cannot be
// cancelled, so a slow lookup keeps its worker until the system resolver's own timeout; at most
// max_pending lookups wait for a worker, and further ones fail at once ("resolver busy"). The
// proxy hands it at most ProxyOptions::resolver_slots lookups at once (lookup_queue.hpp), so
// that its queue never holds one execution's backlog ahead of another's lookup.
class SystemResolver final : public Resolver {
  public:
    // The blocking step of one lookup, run on a worker thread.
    using Lookup = std::function<Resolution(const std::string& name)>;
    // lookup: getaddrinfo when empty; tests pass their own, to drive the real workers and
    // queue with lookups they hold back.
    explicit SystemResolver(size_t threads = 16, size_t max_pending = 256, Lookup lookup = {});
    ~SystemResolver() override;  // answers waiting lookups with an error, joins the workers
    SystemResolver(const SystemResolver&) = delete;
    SystemResolver& operator=(const SystemResolver&) = delete;

    void resolve(const std::string& name, Callback done) override;

    // One resolver for the whole process, so that proxies (one per execution) share its threads
    // and never wait for a lookup in flight when they stop.
    static std::shared_ptr<SystemResolver> shared();

  private:
    void work();

    const size_t max_threads_;
    const size_t max_pending_;
    const Lookup lookup_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::pair<std::string, Callback>> queue_;
    std::vector<std::thread> workers_;
    size_t idle_ = 0;
    bool stopping_ = false;
};

// For tests: a fixed table from names to IP literals, answered at once. A name not in the table
// fails like a name that does not exist.
class StaticResolver final : public Resolver {
  public:
    explicit StaticResolver(std::map<std::string, std::vector<std::string>> table);
    void resolve(const std::string& name, Callback done) override;

  private:
    std::map<std::string, std::vector<std::string>> table_;
};

}  // namespace microvm::proxy
