#include "proxy/resolver.hpp"

#include <netdb.h>
#include <resolv.h>

#include <algorithm>

namespace microvm::proxy {
namespace {

// The name is asked as it is, never with the host's search domains appended (resolv.conf
// `search`/`domain`, HOSTALIASES): with them, a program whose policy blocks internal.corp.test
// reached it as `internal`, and a listed name that does not exist (api.test) led to
// api.test.corp.test. The settings are the calling thread's; res_init reloads resolv.conf now,
// so that getaddrinfo finds it unchanged and keeps them (a change made in between can still
// bring the search list back for one lookup). The hosts file is still read: unlike an absolute
// name ("internal."), this keeps /etc/hosts names working.
bool ask_names_as_given() {
    if (::res_init() != 0) return false;
    _res.options &= ~static_cast<unsigned long>(RES_DNSRCH | RES_DEFNAMES);
    _res.options |= RES_NOALIASES;
    return true;
}

Resolution system_lookup(const std::string& name) {
    if (!ask_names_as_given()) return {{}, "cannot resolve " + name + ": resolver settings unreadable"};
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;  // no IPv6 answers on a host without IPv6, and the reverse
    addrinfo* list = nullptr;
    Resolution out;
    const int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &list);
    if (rc != 0) {
        out.error = "cannot resolve " + name + ": " + ::gai_strerror(rc);
        return out;
    }
    for (const addrinfo* ai = list; ai; ai = ai->ai_next) {
        auto address = SocketAddress::from_sockaddr(ai->ai_addr, ai->ai_addrlen);
        if (!address) continue;
        const bool seen = std::any_of(out.addresses.begin(), out.addresses.end(),
                                      [&](const SocketAddress& a) { return a.ip() == address->ip(); });
        if (!seen) out.addresses.push_back(*address);
    }
    ::freeaddrinfo(list);
    if (out.addresses.empty()) out.error = "cannot resolve " + name + ": no IPv4 or IPv6 address";
    return out;
}

}  // namespace

SystemResolver::SystemResolver(size_t threads, size_t max_pending, Lookup lookup)
    : max_threads_(std::max<size_t>(threads, 1)), max_pending_(max_pending),
      lookup_(lookup ? std::move(lookup) : Lookup(system_lookup)) {}

SystemResolver::~SystemResolver() {
    std::deque<std::pair<std::string, Callback>> orphans;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        orphans.swap(queue_);
    }
    wake_.notify_all();
    for (auto& [name, done] : orphans) done({{}, "resolver stopped before resolving " + name});
    for (std::thread& t : workers_) t.join();
}

void SystemResolver::resolve(const std::string& name, Callback done) {
    std::unique_lock lock(mutex_);
    if (stopping_ || queue_.size() >= max_pending_) {
        lock.unlock();
        done({{}, "cannot resolve " + name + ": resolver busy"});
        return;
    }
    queue_.emplace_back(name, std::move(done));
    if (idle_ < queue_.size() && workers_.size() < max_threads_) {
        workers_.emplace_back([this] { work(); });
    }
    lock.unlock();
    wake_.notify_one();
}

void SystemResolver::work() {
    std::unique_lock lock(mutex_);
    while (true) {
        ++idle_;
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        --idle_;
        if (queue_.empty()) return;  // stopping
        auto [name, done] = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        Resolution r = lookup_(name);
        done(std::move(r));
        lock.lock();
    }
}

std::shared_ptr<SystemResolver> SystemResolver::shared() {
    static const std::shared_ptr<SystemResolver> instance = std::make_shared<SystemResolver>();
    return instance;
}

StaticResolver::StaticResolver(std::map<std::string, std::vector<std::string>> table)
    : table_(std::move(table)) {}

void StaticResolver::resolve(const std::string& name, Callback done) {
    Resolution out;
    auto it = table_.find(name);
    if (it != table_.end()) {
        for (const std::string& ip : it->second) {
            if (auto a = SocketAddress::from_ip(ip, 0)) out.addresses.push_back(*a);
        }
    }
    if (out.addresses.empty()) out.error = "cannot resolve " + name + ": unknown name (test resolver)";
    done(std::move(out));
}

}  // namespace microvm::proxy
