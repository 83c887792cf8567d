// Name resolution shared by executions: the red team's attack was a program whose CONNECTs to
// names nobody answers for filled the process's resolver, so that another execution's lookups
// timed out, even after the attacker's execution had ended. Here the real SystemResolver's
// workers run a lookup that holds names beginning with "slow" until the test releases them
// (a DNS server that never answers); every other name is 127.0.0.1 at once.
#include <gtest/gtest.h>

#include <condition_variable>
#include <set>

#include "proxy/resolver.hpp"
#include "proxy_support.hpp"

namespace proxytest {
namespace {

using microvm::proxy::Resolution;
using microvm::proxy::SocketAddress;

const std::string kReply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

std::string first_line(const std::string& s) { return s.substr(0, s.find("\r\n")); }

class Gate {
  public:
    Resolution lookup(const std::string& name) {
        if (name.rfind("slow", 0) != 0) return {{*SocketAddress::from_ip("127.0.0.1", 0)}, {}};
        ++slow_calls_;
        std::unique_lock lock(mutex_);
        // Bounded, so that a failing test cannot hang the workers' join.
        released_cv_.wait_for(lock, 10s, [&] { return open_ || released_.count(name) > 0; });
        return {{}, "cannot resolve " + name + ": no answer (test)"};
    }
    void release(const std::string& name) {
        std::lock_guard lock(mutex_);
        released_.insert(name);
        released_cv_.notify_all();
    }
    void open() {
        std::lock_guard lock(mutex_);
        open_ = true;
        released_cv_.notify_all();
    }
    int slow_calls() const { return slow_calls_.load(); }
    // slow_calls() once it reached n, or after 2 s.
    int slow_calls_reach(int n) const {
        const auto until = std::chrono::steady_clock::now() + 2s;
        while (slow_calls_.load() < n && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(2ms);
        return slow_calls_.load();
    }

  private:
    std::atomic<int> slow_calls_{0};
    std::mutex mutex_;
    std::condition_variable released_cv_;
    std::set<std::string> released_;
    bool open_ = false;
};

// A proxy on the gated resolver, as many threads as slots. The small one (4 slots, a share of 2)
// shows the queue's order with few executions; the defaults are what every proxy runs with.
constexpr size_t kSmall = 4;
const size_t kDefaultSlots = microvm::proxy::ProxyOptions{}.resolver_slots;

struct GatedProxy {
    explicit GatedProxy(std::chrono::milliseconds resolve_timeout, size_t slots = kSmall)
        : gate(std::make_shared<Gate>()),
          resolver(std::make_shared<microvm::proxy::SystemResolver>(
              slots, 256, [g = gate](const std::string& name) { return g->lookup(name); })),
          opener{gate},
          proxy(options(resolver, resolve_timeout, slots)) {
        if (!proxy.start()) throw std::runtime_error("proxy start");
    }
    // An execution listening on a loopback port.
    std::pair<microvm::proxy::Execution, uint16_t> open(const std::string& text, microvm::proxy::Limits limits = {}) {
        auto e = proxy.open({policy(text), limits, true});
        if (!e) throw std::runtime_error(e.error().message);
        auto port = e->listen_tcp();
        if (!port) throw std::runtime_error(port.error().message);
        return {std::move(*e), *port};
    }

    static microvm::proxy::ProxyOptions options(std::shared_ptr<microvm::proxy::Resolver> r,
                                                std::chrono::milliseconds timeout, size_t slots) {
        microvm::proxy::ProxyOptions o;
        o.resolver = std::move(r);
        o.resolve_timeout = timeout;
        o.resolver_slots = slots;
        return o;
    }
    struct OpenAtEnd {  // the workers must be free before the resolver joins them
        std::shared_ptr<Gate> gate;
        ~OpenAtEnd() { gate->open(); }
    };

    std::shared_ptr<Gate> gate;
    std::shared_ptr<microvm::proxy::SystemResolver> resolver;
    OpenAtEnd opener;
    microvm::proxy::Proxy proxy;
};

RawClient connect_to(uint16_t proxy_port, const std::string& name) {
    RawClient c = RawClient::tcp(proxy_port);
    c.send_all(connect_request(name + ":443"));
    return c;
}

std::string get(uint16_t proxy_port, uint16_t server_port) {
    RawClient c = RawClient::tcp(proxy_port);
    const std::string host = "allowed.test:" + std::to_string(server_port);
    c.send_all("GET http://" + host + "/ HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    return c.read_all();
}

TEST(ProxyResolution, OneExecutionsSlowLookupsNeitherDelayAnotherNorOutliveIt) {
    RecordingServer server(kReply, true);
    GatedProxy g(3s);
    microvm::proxy::Limits eight;
    eight.max_lookups = 8;
    auto [attacker, attacker_port] = g.open("allow=*.test", eight);
    auto [victim, victim_port] = g.open("allow=allowed.test");

    std::vector<RawClient> flood;
    for (int i = 0; i < 12; ++i) flood.push_back(connect_to(attacker_port, "slow" + std::to_string(i) + ".test"));
    // Of the 4 slots the attacker holds its share, 2; 6 more of its lookups wait, 4 are refused.
    EXPECT_EQ(g.gate->slow_calls_reach(2), 2);
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(g.gate->slow_calls(), 2);

    // The other execution's lookup is answered at once (not after the resolve timeout: 504).
    EXPECT_EQ(get(victim_port, server.port()), kReply);

    // The attacker's execution ends: its waiting lookups are dropped, never run.
    auto records = attacker.finish();
    g.gate->open();
    EXPECT_EQ(get(victim_port, server.port()), kReply);  // after whatever was queued before it
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(g.gate->slow_calls(), 2);

    int refused = 0;
    for (RawClient& c : flood) refused += first_line(c.read_all()) == "HTTP/1.1 429 Too Many Requests";
    EXPECT_EQ(refused, 4);
    ASSERT_EQ(records.size(), 12u);
    int limit_records = 0, cut_records = 0;
    for (const auto& r : records) {
        if (r.rule == "limit: 8 name lookups at once per execution") {
            ++limit_records;
            EXPECT_EQ(r.allowed, false);
            EXPECT_EQ(r.error, "refused: limit: 8 name lookups at once per execution");
        } else if (r.error == "cut: execution ended") {
            ++cut_records;
        }
    }
    EXPECT_EQ(limit_records, 4);
    EXPECT_EQ(cut_records, 8);
    auto victim_records = victim.finish();
    ASSERT_EQ(victim_records.size(), 2u);
    EXPECT_EQ(victim_records[0].allowed, true);
    EXPECT_TRUE(victim_records[0].error.empty()) << victim_records[0].error;
}

// A burst of connections within the concurrency, to names answered at once, is served whole: a
// lookup's slot comes back only once the loop takes its answer, and with at most 8 lookups 4 of
// 12 such connections were refused (red team, 2026-12-06).
TEST(ProxyResolution, ABurstOfConnectionsWithinTheConcurrencyIsNotRefused) {
    GatedProxy g(3s, kDefaultSlots);
    auto [execution, port] = g.open("allow=*.test");
    std::vector<RawClient> burst;
    for (int i = 0; i < 24; ++i) burst.push_back(connect_to(port, "n" + std::to_string(i) + ".test"));
    int refused = 0;
    for (RawClient& c : burst) refused += first_line(c.read_all()) == "HTTP/1.1 429 Too Many Requests";
    EXPECT_EQ(refused, 0);
    for (const auto& r : execution.finish()) EXPECT_EQ(r.rule.find("name lookups at once"), std::string::npos) << r.rule;
}

// A connection the policy allowed and cut while its name was resolved is recorded as allowed,
// with the rule that allowed it; it was recorded "refused: no complete request" (red team,
// 2026-12-06).
TEST(ProxyResolution, AConnectionCutWhileResolvingIsRecordedAsAllowed) {
    GatedProxy g(3s);
    auto [execution, port] = g.open("allow=slow.test");
    RawClient c = connect_to(port, "slow.test");
    ASSERT_EQ(g.gate->slow_calls_reach(1), 1);
    auto records = execution.finish();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].allowed, true);
    EXPECT_EQ(records[0].rule, "allow entry slow.test");
    EXPECT_EQ(records[0].error, "cut: execution ended");
}

TEST(ProxyResolution, LookupsOfConnectionsThatTimedOutAreDroppedBeforeTheyRun) {
    RecordingServer server(kReply, true);
    GatedProxy g(300ms);
    auto [execution, port] = g.open("allow=*.test");
    std::vector<RawClient> waiting;
    for (int i = 0; i < 4; ++i) waiting.push_back(connect_to(port, "slow" + std::to_string(i) + ".test"));
    for (RawClient& c : waiting) EXPECT_EQ(first_line(c.read_all()), "HTTP/1.1 504 Gateway Timeout");
    EXPECT_EQ(g.gate->slow_calls(), 2);  // its share of the slots; the other two waited
    // The two that started still hold their slots (a resolver thread each) until they return.
    g.gate->open();
    EXPECT_EQ(get(port, server.port()), kReply);
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(g.gate->slow_calls(), 2);
    auto records = execution.finish();
    ASSERT_EQ(records.size(), 5u);
    for (size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(records[i].error, "resolving " + records[i].host + " took longer than 300 ms");
    }
    EXPECT_TRUE(records[4].error.empty()) << records[4].error;
}

// Every slot held (two executions with their share each, more waiting): the next free slot goes
// to the execution that holds none, ahead of the backlogs that were there first.
TEST(ProxyResolution, AFreeSlotGoesToTheExecutionHoldingFewest) {
    RecordingServer server(kReply, true);
    GatedProxy g(5s);
    auto [a, port_a] = g.open("allow=*.test");
    auto [c, port_c] = g.open("allow=*.test");
    auto [b, port_b] = g.open("allow=allowed.test");
    std::vector<RawClient> flood;
    for (int i = 0; i < 2; ++i) flood.push_back(connect_to(port_a, "slow-a" + std::to_string(i) + ".test"));
    ASSERT_EQ(g.gate->slow_calls_reach(2), 2);
    for (int i = 2; i < 6; ++i) flood.push_back(connect_to(port_a, "slow-a" + std::to_string(i) + ".test"));
    for (int i = 0; i < 2; ++i) flood.push_back(connect_to(port_c, "slow-c" + std::to_string(i) + ".test"));
    ASSERT_EQ(g.gate->slow_calls_reach(4), 4);
    for (int i = 2; i < 6; ++i) flood.push_back(connect_to(port_c, "slow-c" + std::to_string(i) + ".test"));
    std::this_thread::sleep_for(100ms);  // the backlogs are queued

    std::string answer;
    std::thread victim([&, port = port_b] { answer = get(port, server.port()); });
    std::this_thread::sleep_for(100ms);  // its lookup waits for a slot
    g.gate->release("slow-a0.test");
    victim.join();
    // Had a's backlog (first in turn) taken the slot, every slot would be held again by slow
    // lookups, and the victim's would time out (504).
    EXPECT_EQ(answer, kReply);
    a.close();
    c.close();
}

// Started lookups cannot be cancelled, so each hostile execution keeps its share busy for a
// resolver timeout. With the defaults, two of them at once (or seven) leave slots free: a third
// execution's lookup is answered at once. (With 4 slots and half of them per execution, two
// attackers held every slot, and the victim's lookup timed out: 504.)
TEST(ProxyResolution, SeveralHostileExecutionsAtOnceLeaveSlotsForAnother) {
    const size_t share = microvm::proxy::ProxyOptions{}.resolver_share;
    ASSERT_GE(kDefaultSlots / share, 8u);
    RecordingServer server(kReply, true);
    GatedProxy g(2s, kDefaultSlots);
    std::vector<std::pair<microvm::proxy::Execution, uint16_t>> attackers;
    std::vector<RawClient> flood;
    for (int a = 0; a < 7; ++a) {
        attackers.push_back(g.open("allow=*.test"));
        for (int i = 0; i < 4; ++i) {
            flood.push_back(connect_to(attackers.back().second,
                                       "slow" + std::to_string(a) + "-" + std::to_string(i) + ".test"));
        }
    }
    EXPECT_EQ(g.gate->slow_calls_reach(static_cast<int>(7 * share)), static_cast<int>(7 * share));
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(g.gate->slow_calls(), static_cast<int>(7 * share));  // each holds its share only

    auto [victim, victim_port] = g.open("allow=allowed.test");
    EXPECT_EQ(get(victim_port, server.port()), kReply);  // not 504 after the resolve timeout
    for (auto& [execution, port] : attackers) execution.close();
}

}  // namespace
}  // namespace proxytest
