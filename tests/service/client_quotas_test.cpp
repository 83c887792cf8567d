// One client cannot starve the others (red team M4 and the slowloris finding, 2026-12-03): a
// principal (token id on TCP, uid on the Unix socket) holds at most its quota of execution slots,
// sessions and request-body bytes (429 client_quota, Retry-After), and one peer address at most
// its share of the connections (429 and close), while another client is still served.
#include <gtest/gtest.h>
#include <ifaddrs.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <net/if.h>

#include <future>
#include <thread>

#include "harness.hpp"
#include "service/client_quotas.hpp"
#include "support/expectations.hpp"

using namespace svctest;
using namespace std::chrono_literals;
using nlohmann::json;
using microvm::service::ClientIdentity;

namespace {

// A TCP connection from the address `from` to `to`:port, both IPv4 or both IPv6 (a local
// address each: one of 127.0.0.0/8, or one the test's network namespace holds); -1 when it
// cannot be made.
int connect_between(const char* from, const char* to, int port) {
    sockaddr_storage source{}, target{};
    socklen_t size = sizeof(sockaddr_in);
    auto* s4 = reinterpret_cast<sockaddr_in*>(&source);
    auto* t4 = reinterpret_cast<sockaddr_in*>(&target);
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&source);
    auto* t6 = reinterpret_cast<sockaddr_in6*>(&target);
    if (::inet_pton(AF_INET, from, &s4->sin_addr) == 1 && ::inet_pton(AF_INET, to, &t4->sin_addr) == 1) {
        s4->sin_family = t4->sin_family = AF_INET;
        t4->sin_port = htons(static_cast<uint16_t>(port));
    } else if (::inet_pton(AF_INET6, from, &s6->sin6_addr) == 1 && ::inet_pton(AF_INET6, to, &t6->sin6_addr) == 1) {
        s6->sin6_family = t6->sin6_family = AF_INET6;
        t6->sin6_port = htons(static_cast<uint16_t>(port));
        size = sizeof(sockaddr_in6);
    } else {
        return -1;
    }
    int fd = ::socket(source.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&source), size) != 0 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&target), size) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// A TCP connection to 127.0.0.1:port from the loopback address `from` (127.0.0.0/8 only).
int connect_tcp_from(const char* from, int port) { return connect_between(from, "127.0.0.1", port); }

// The front end's options with these connection caps and a request timeout long enough that
// only the caps close a silent connection.
microvm::service::FrontendOptions connection_caps(size_t total, size_t per_peer) {
    microvm::service::FrontendOptions f;
    f.max_connections = total;
    f.max_connections_per_peer = per_peer;
    f.request_timeout = 20s;
    return f;
}

// Sends the head of a PUT announcing `bytes` with `Expect: 100-continue` and returns the status
// the daemon answers before any body (100 once the body's share is reserved, or a refusal).
int announce_upload(int fd, size_t bytes, const std::string& token) {
    std::string head = "PUT /v1/sandboxes/sbx-000000000000000000000000/files/f HTTP/1.1\r\nHost: x\r\n"
                       "Expect: 100-continue\r\nContent-Length: " + std::to_string(bytes) + "\r\n";
    if (!token.empty()) head += "Authorization: Bearer " + token + "\r\n";
    send_all(fd, head + "\r\n");
    Reader in(fd, 10s);
    std::string status;
    if (!in.line(status) || status.size() < 12) return 0;
    return std::atoi(status.c_str() + 9);
}

}  // namespace

TEST(ClientQuotas, DefaultShareIsHalfRoundedUpAtLeastOne) {
    using microvm::service::client_share;
    EXPECT_EQ(client_share(0), 1u);
    EXPECT_EQ(client_share(1), 1u);
    EXPECT_EQ(client_share(2), 1u);
    EXPECT_EQ(client_share(5), 3u);
    EXPECT_EQ(client_share(20), 10u);
    EXPECT_EQ(client_share(64), 32u);
}

// Four slots, no queue: Alice may hold two (half); her third is refused naming the quota, and Bob
// still gets a slot. Without the quota Alice took all four and Bob was refused `busy`.
TEST(ClientQuotas, OneClientCannotTakeEveryExecutionSlot) {
    Harness h([](microvm::service::ServiceOptions& o) { o.admission = {4, 0}; });
    auto& svc = *h.service;
    const ClientIdentity alice = token_client("alice"), bob = token_client("bob");
    const std::string body = json{{"provider", "mock"}, {"eval", "1"}}.dump();
    microvm::CancelSource never;
    std::vector<std::shared_ptr<microvm::service::Service::Prepared>> held;
    size_t refused = 0;
    for (int i = 0; i < 4; ++i) {
        auto p = svc.prepare_execution(body, alice, never.token());
        if (p) {
            held.push_back(*p);
            continue;
        }
        ++refused;
        EXPECT_EQ(p.error().http_status, 429);
        EXPECT_EQ(p.error().code, "client_quota") << p.error().message;
        EXPECT_NE(p.error().message.find("--max-per-client-executions"), std::string::npos) << p.error().message;
        EXPECT_NE(p.error().message.find("token:alice"), std::string::npos) << p.error().message;
    }
    EXPECT_EQ(held.size(), 2u);
    EXPECT_EQ(refused, 2u);
    auto b = svc.prepare_execution(body, bob, never.token());
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_EQ(h.metric("microvmd_client_quota_refusals_total{quota=\"executions\"}"), 2);
    // A slot given back is Alice's to take again.
    held.pop_back();
    EXPECT_TRUE(svc.prepare_execution(body, alice, never.token()));
}

// A daemon configured for one user lets that user take every slot.
TEST(ClientQuotas, TheQuotaCanBeTheWholeCapacity) {
    Harness h([](microvm::service::ServiceOptions& o) {
        o.admission = {4, 0};
        o.max_client_executions = 4;
        o.max_client_running = 4;
    });
    const std::string body = json{{"provider", "mock"}, {"eval", "1"}}.dump();
    microvm::CancelSource never;
    std::vector<std::shared_ptr<microvm::service::Service::Prepared>> held;
    for (int i = 0; i < 4; ++i) {
        auto p = h.service->prepare_execution(body, token_client("alice"), never.token());
        ASSERT_TRUE(p) << i << ": " << p.error().message;
        held.push_back(*p);
    }
    auto over = h.service->prepare_execution(body, token_client("alice"), never.token());
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error().http_status, 429);
}

// Red team K2: the execution quota (half of running + queued: 10 of 4 + 16) let one client hold
// every running slot, and the others' executions waited behind its long runs. Two slots: Alice's
// first run holds one, her second waits in the queue (her running limit, 2 - 1), and Bob's run,
// queued after it, starts and finishes while Alice's first is still running. Without the limit
// Alice's two runs held both slots and Bob's waited until one ended (here: never).
TEST(ClientQuotas, OneClientCannotHoldEveryRunningSlot) {
    if (!provider_available("process")) GTEST_SKIP() << "the process provider is unavailable here";
    Harness h([](microvm::service::ServiceOptions& o) { o.admission = {2, 4}; });
    auto& svc = *h.service;
    EXPECT_EQ(svc.client_running_limit("process"), 1u);
    const ClientIdentity alice = token_client("alice"), bob = token_client("bob");
    const std::string blocks = json{{"provider", "process"}, {"run", {"/bin/sleep", "3600"}}, {"timeout", "1h"}}.dump();
    microvm::CancelSource alice_gone, never;
    auto first = svc.prepare_execution(blocks, alice, alice_gone.token());
    ASSERT_TRUE(first) << first.error().message;
    auto first_run = std::async(std::launch::async, [&] { return svc.run(**first, nullptr); });
    auto second = std::async(std::launch::async, [&] { return svc.prepare_execution(blocks, alice, alice_gone.token()); });
    struct Release {  // before the futures wait for Alice's runs, whatever fails
        microvm::CancelSource& gone;
        ~Release() { gone.cancel(); }
    } release{alice_gone};
    // Alice's second is running or queued (whichever the daemon chose) before Bob asks.
    auto in_flight = [&] {
        return h.metric("microvmd_active_executions{provider=\"process\"}") +
               h.metric("microvmd_queued_executions{provider=\"process\"}");
    };
    for (int i = 0; i < 2000 && in_flight() < 2; ++i) std::this_thread::sleep_for(5ms);
    ASSERT_EQ(in_flight(), 2);
    auto bob_done = std::async(std::launch::async, [&]() -> std::string {
        auto b = svc.prepare_execution(json{{"provider", "process"}, {"run", {"/bin/true"}}}.dump(), bob, never.token());
        if (!b) return "refused: " + b.error().message;
        return svc.run(**b, nullptr)["status"].get<std::string>();
    });
    // A bound for a failure, not a measure: without the limit Bob's run never starts.
    const bool bob_finished = bob_done.wait_for(60s) == std::future_status::ready;
    EXPECT_TRUE(bob_finished) << "Bob's run waited behind Alice's";
    EXPECT_EQ(first_run.wait_for(0s), std::future_status::timeout) << "Alice's first run is still running";
    EXPECT_EQ(second.wait_for(0s), std::future_status::timeout) << "Alice's second waits for her first";
    alice_gone.cancel();  // her runs end (and her queued one leaves the queue)
    EXPECT_NE(first_run.get()["status"], "ok");  // cancelled (its program killed)
    if (auto s = second.get()) {
        EXPECT_NE(svc.run(**s, nullptr)["status"], "ok");
    }
    if (bob_finished) {
        EXPECT_EQ(bob_done.get(), "ok");
    } else {
        bob_done.wait();  // now that Alice's runs ended
    }
}

// Four sessions: the token holder (TCP) may hold two; its third is 429 with Retry-After naming
// the quota, while the Unix socket's user still creates one. Without the quota the token holder
// took all four and the other client got too_many_sandboxes.
TEST(ClientQuotas, OneClientCannotTakeEverySession) {
    Harness h([](microvm::service::ServiceOptions& o) { o.max_sessions = 4; });
    const std::string body = json{{"provider", "mock"}}.dump();
    std::vector<int> statuses;
    HttpReply last;
    for (int i = 0; i < 4; ++i) {
        last = h.call_tcp("POST", "/v1/sandboxes", body);
        statuses.push_back(last.status);
    }
    EXPECT_EQ(statuses, (std::vector<int>{201, 201, 429, 429}));
    EXPECT_EQ(last.headers["retry-after"], "1");
    EXPECT_EQ(body_json(last).value("error", json::object()).value("code", ""), "client_quota") << last.body;
    EXPECT_NE(last.body.find("--max-per-client-sandboxes"), std::string::npos) << last.body;
    auto other = h.call_json("POST", "/v1/sandboxes", json{{"provider", "mock"}});
    EXPECT_EQ(other.status, 201) << other.body;
    EXPECT_EQ(h.metric("microvmd_client_quota_refusals_total{quota=\"sandboxes\"}"), 2);
}

TEST(ClientQuotas, AnEndedSessionGivesItsPlaceBack) {
    Harness h([](microvm::service::ServiceOptions& o) { o.max_sessions = 2; });
    const std::string body = json{{"provider", "mock"}}.dump();
    auto first = h.call_tcp("POST", "/v1/sandboxes", body);
    ASSERT_EQ(first.status, 201) << first.body;
    EXPECT_EQ(h.call_tcp("POST", "/v1/sandboxes", body).status, 429);
    const std::string id = body_json(first)["id"];
    EXPECT_EQ(h.call_tcp("DELETE", "/v1/sandboxes/" + id).status, 200);
    EXPECT_EQ(h.call_tcp("POST", "/v1/sandboxes", body).status, 201);
}

// A 4 MiB body budget, 1 MiB uploads: the token holder may have 2 MiB being received; its third
// and fourth uploads are refused (429) before any body, and the Unix socket's user still gets
// its "100 Continue". Without the quota the token holder held the whole budget: the other got 503.
TEST(ClientQuotas, OneClientCannotHoldTheWholeBodyBudget) {
    Harness h([](microvm::service::ServiceOptions& o) {
        o.max_file_bytes = 1 << 20;
        o.max_body_bytes_held = 4 << 20;
    });
    std::vector<int> fds, statuses;
    for (int i = 0; i < 4; ++i) {
        fds.push_back(connect_tcp(h.tcp_port));
        statuses.push_back(announce_upload(fds.back(), 1 << 20, kToken));
    }
    EXPECT_EQ(statuses, (std::vector<int>{100, 100, 429, 429}));
    const int other = connect_unix(h.socket_path);
    EXPECT_EQ(announce_upload(other, 1 << 20, ""), 100);
    EXPECT_EQ(h.metric("microvmd_client_quota_refusals_total{quota=\"body_bytes\"}"), 2);
    ::close(other);
    for (int fd : fds) ::close(fd);
}

namespace {

// Whether the daemon closed fd (EOF or reset), as opposed to leaving it open with nothing to read.
bool closed_by_daemon(int fd) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return false;
    char c;
    return ::recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

bool still_open(int fd) {
    char c;
    return ::recv(fd, &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

}  // namespace

// Eight connections in all, four per peer: 127.0.0.2 opens eight and sends nothing (slowloris).
// Each of its fifth to eighth closes its oldest idle one, so it holds four at most; a client on
// the Unix socket (another peer) is still served. Without the cap 127.0.0.2 held all eight and
// the other client got 503.
TEST(ClientQuotas, OnePeerAddressCannotHoldEveryConnection) {
    Harness h(nullptr, connection_caps(8, 4));
    std::vector<int> silent;
    for (int i = 0; i < 8; ++i) {
        silent.push_back(connect_tcp_from("127.0.0.2", h.tcp_port));
        ASSERT_GE(silent.back(), 0) << "cannot bind 127.0.0.2";
    }
    for (size_t i = 0; i < 4; ++i) EXPECT_TRUE(closed_by_daemon(silent[i])) << i << ": the oldest make way";
    EXPECT_EQ(h.call("GET", "/healthz").status, 200);
    for (size_t i = 4; i < silent.size(); ++i) EXPECT_TRUE(still_open(silent[i])) << i;
    for (int fd : silent) ::close(fd);
}

// Red team, 2026-12-05: every local user may connect from any address of 127.0.0.0/8 (and from
// any of the host's own addresses), so a user without a token opened silent connections from
// nine of them, each under the per-peer cap, and filled --max-connections: every client, root's
// on the Unix socket too, got 503. Every client of this host is now one peer, and at the cap the
// largest peer's oldest idle connection makes way for a newcomer of any peer.
TEST(ClientQuotas, SilentConnectionsFromManyLoopbackAddressesLockNobodyOut) {
    Harness h(nullptr, connection_caps(16, 8));
    std::vector<int> silent;
    std::vector<std::string> sources;
    for (int address = 2; address < 10; ++address) sources.push_back("127.0.0." + std::to_string(address));
    ifaddrs* all = nullptr;
    ASSERT_EQ(::getifaddrs(&all), 0);
    for (const ifaddrs* i = all; i; i = i->ifa_next) {  // this host's own, as a local user may bind them
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
        char text[INET_ADDRSTRLEN];
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr, text, sizeof text);
        if (!std::string(text).starts_with("127.")) sources.push_back(text);
    }
    ::freeifaddrs(all);
    for (const std::string& from : sources) {
        for (int i = 0; i < 4; ++i) {
            silent.push_back(connect_tcp_from(from.c_str(), h.tcp_port));
            ASSERT_GE(silent.back(), 0) << "cannot bind " << from;
        }
    }
    std::this_thread::sleep_for(200ms);
    size_t open = 0;
    for (int fd : silent) open += still_open(fd);
    EXPECT_LE(open, 8u) << "this host's clients held more than one peer's share";
    EXPECT_EQ(h.call("GET", "/healthz").status, 200);
    EXPECT_EQ(h.call_tcp("GET", "/healthz").status, 200);
    for (int fd : silent) ::close(fd);
}

// Review of the fix above: the host's own addresses were found by comparing the client's with
// the interfaces', so a dual-stack listener's IPv4 client (::ffff:x) was never one, nor was any
// address of a range routed `local` without being an interface's (AnyIP), from which a local
// user may bind as many sources as it likes. Each was a peer of its own. Now the kernel's
// route to the client's address decides, in either spelling. In a network namespace of this
// thread: an internet address on lo, an IPv6 one, a range routed local, and a dual-stack
// listener reached on the non-loopback addresses only.
TEST(ClientQuotas, EveryAddressTheHostDeliversToItselfIsThisHostsPeer) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "a network namespace of its own needs root");
    int setup = -1;
    size_t made = 0, open = 0;
    std::vector<std::string> failed;
    int served = 0;
    std::thread in_namespace([&] {
        if (::unshare(CLONE_NEWNET) != 0) return;
        // The shell is forked from this thread: it shares the new namespace.
        setup = std::system("ip link set lo up && ip addr add 192.0.2.77/32 dev lo && "
                            "ip -6 addr add 2001:db8::77/128 dev lo nodad && "
                            "ip route add local 198.51.100.0/24 dev lo");
        if (setup != 0) return;
        Harness h(nullptr, connection_caps(64, 4), nullptr, "tcp:[::]:0");
        std::vector<std::pair<std::string, std::string>> routes = {
            {"192.0.2.77", "192.0.2.77"}, {"2001:db8::77", "2001:db8::77"}};
        for (int n = 1; n <= 4; ++n) routes.push_back({"198.51.100." + std::to_string(n), "192.0.2.77"});
        std::vector<int> silent;
        for (const auto& [from, to] : routes) {
            for (int i = 0; i < 2; ++i) {
                int fd = connect_between(from.c_str(), to.c_str(), h.tcp_port);
                if (fd < 0) failed.push_back(from + " -> " + to);
                else silent.push_back(fd);
            }
        }
        made = silent.size();
        std::this_thread::sleep_for(200ms);
        for (int fd : silent) open += still_open(fd);
        served = h.call("GET", "/healthz").status;
        for (int fd : silent) ::close(fd);
    });
    in_namespace.join();
    ASSERT_EQ(setup, 0);
    EXPECT_TRUE(failed.empty()) << (failed.empty() ? "" : failed.front());
    EXPECT_EQ(made, 12u);
    EXPECT_LE(open, 4u) << "an address this host delivers to itself counted as a peer of its own";
    EXPECT_EQ(served, 200);
}

// The review of the test above: a link-local address was asked of the kernel without its link,
// so a router's fe80::1, on another link of this host's than its own fe80::1, counted as this
// host, and two idle connections from it displaced a local client's. The remote here is a
// thread in a network namespace of its own at the far end of a veth pair.
TEST(ClientQuotas, ALinkLocalAddressOfAnotherLinkIsNotThisHost) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "network namespaces of their own need root");
    int setup = -1, remote_setup = -1;
    size_t remote_open = 0;
    bool local_open = false;
    std::thread in_namespace([&] {
        if (::unshare(CLONE_NEWNET) != 0) return;
        Harness h(nullptr, connection_caps(64, 2), nullptr, "tcp:[::]:0");
        std::promise<pid_t> remote_tid;
        std::promise<void> wired, connected, finish;
        std::thread remote([&] {
            if (::unshare(CLONE_NEWNET) != 0) {
                remote_tid.set_value(0);
                return;
            }
            remote_tid.set_value(static_cast<pid_t>(::syscall(SYS_gettid)));
            wired.get_future().wait();
            remote_setup = std::system("ip link set lo up && ip link set vb up && "
                                       "ip -6 addr add fe80::1/64 dev vb nodad");
            std::vector<int> fds;
            if (remote_setup == 0) {
                sockaddr_in6 from{}, to{};
                from.sin6_family = to.sin6_family = AF_INET6;
                from.sin6_scope_id = to.sin6_scope_id = ::if_nametoindex("vb");
                ::inet_pton(AF_INET6, "fe80::1", &from.sin6_addr);
                ::inet_pton(AF_INET6, "fe80::2", &to.sin6_addr);
                to.sin6_port = htons(static_cast<uint16_t>(h.tcp_port));
                for (int i = 0; i < 2; ++i) {
                    int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
                    if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) == 0 &&
                        ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0)
                        fds.push_back(fd);
                    else
                        ::close(fd);
                }
            }
            std::this_thread::sleep_for(200ms);
            for (int fd : fds) remote_open += still_open(fd);
            connected.set_value();
            finish.get_future().wait();
            for (int fd : fds) ::close(fd);
        });
        const pid_t tid = remote_tid.get_future().get();
        // This host has fe80::1 on a link of its own (d0, a veth: no dummy device here); the
        // remote's link (va) has fe80::2.
        if (tid > 0)
            setup = std::system(("ip link set lo up && ip link add d0 type veth peer name d1 && ip link set d0 up && "
                                 "ip -6 addr add fe80::1/64 dev d0 nodad && "
                                 "ip link add va type veth peer name vb netns " + std::to_string(tid) +
                                 " && ip link set va up && ip -6 addr add fe80::2/64 dev va nodad").c_str());
        int local = connect_tcp_from("127.0.0.2", h.tcp_port);  // an idle client of this host
        std::this_thread::sleep_for(100ms);
        wired.set_value();
        connected.get_future().wait();
        local_open = local >= 0 && still_open(local);
        finish.set_value();
        remote.join();
        if (local >= 0) ::close(local);
    });
    in_namespace.join();
    ASSERT_EQ(setup, 0);
    ASSERT_EQ(remote_setup, 0);
    EXPECT_EQ(remote_open, 2u) << "the remote's connections were refused";
    EXPECT_TRUE(local_open) << "a remote's link-local address counted as this host and displaced its client";
}

// Over --max-connections with every connection serving a request (announced uploads waiting
// for their bodies): 503 with Retry-After, and served again once they are gone.
TEST(ClientQuotas, OverTheConnectionLimitWithEveryConnectionBusyIs503) {
    microvm::service::FrontendOptions f;
    f.max_connections = 2;
    f.request_timeout = 5000ms;
    Harness h(nullptr, f);
    int a = connect_unix(h.socket_path), b = connect_unix(h.socket_path);
    ASSERT_EQ(announce_upload(a, 1, ""), 100);
    ASSERT_EQ(announce_upload(b, 1, ""), 100);
    auto r = h.call("GET", "/healthz");
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.headers["retry-after"], "1");
    ::close(a);
    ::close(b);
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(h.call("GET", "/healthz").status, 200);
}

// Red team, 2026-12-05: a request to an open route (/healthz) needs no token, yet it made its
// connection one that no newcomer may displace, so a client without a token held its address's
// places with POSTs to /healthz whose bodies never came. Only a checked token (or a listener
// without tokens, the Unix socket) does that now.
TEST(ClientQuotas, AnOpenRouteRequestHoldsNoPlace) {
    Harness h(nullptr, connection_caps(64, 4));
    std::vector<int> held;
    for (int i = 0; i < 4; ++i) {
        held.push_back(connect_tcp(h.tcp_port));
        ASSERT_TRUE(send_all(held.back(), "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"));
    }
    std::this_thread::sleep_for(200ms);
    auto r = h.call_tcp("GET", "/v1/providers");
    EXPECT_EQ(r.status, 200) << r.body;
    for (int fd : held) ::close(fd);
}

// At --max-connections, a newcomer of another peer takes the place of the largest peer's oldest
// idle connection: silent loopback connections fill the cap (the per-peer cap as large), and a
// client on the Unix socket is served; 503 only when every connection serves a request
// (OverTheConnectionLimitWithEveryConnectionBusyIs503).
TEST(ClientQuotas, AtTheCapTheLargestPeersIdleConnectionMakesWay) {
    Harness h(nullptr, connection_caps(8, 8));
    std::vector<int> silent;
    for (int i = 0; i < 8; ++i) silent.push_back(connect_tcp(h.tcp_port));
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(h.call("GET", "/healthz").status, 200);
    EXPECT_TRUE(closed_by_daemon(silent[0])) << "the oldest made way";
    for (int fd : silent) ::close(fd);
}

// Red team K1: the cap is counted at accept, before any token is seen, so idle connections from
// one address (localhost, a NAT, a proxy) locked out every token holder there: 429 for a valid
// token. A peer's idle connections now make way for its newcomers: the cap filled with silent
// connections from 127.0.0.1, requests with the token from 127.0.0.1 are served, again and again;
// so are they when the cap is filled with keep-alive connections idle after a request.
TEST(ClientQuotas, IdleConnectionsOfAnAddressDoNotLockOutItsTokenHolders) {
    Harness h(nullptr, connection_caps(64, 4));
    std::vector<int> silent;
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 4; ++i) silent.push_back(connect_tcp(h.tcp_port));
        auto r = h.call_tcp("GET", "/v1/providers");
        EXPECT_EQ(r.status, 200) << round << ": " << r.body;
    }
    // Keep-alive connections idle after a request (another token holder's, say) make way too.
    const std::string again = "GET /v1/providers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kToken + "\r\n\r\n";
    // Set-up, not the case under test: the previous connection's thread marks it idle only after
    // its reply has left, and a client as fast as this one can come in between; then every
    // connection of the peer still serves a request and the newcomer rightly gets 429 (seen once
    // in CI under load). Such a newcomer tries again.
    std::vector<int> kept;
    for (int i = 0; i < 4; ++i) {
        int status = 0;
        for (int attempt = 0; attempt < 100 && status != 200; ++attempt) {
            if (attempt) {
                ::close(kept.back());
                kept.pop_back();
                std::this_thread::sleep_for(20ms);
            }
            kept.push_back(connect_tcp(h.tcp_port));
            ASSERT_TRUE(send_all(kept.back(), again));
            status = read_reply(kept.back(), 10s).status;
            ASSERT_TRUE(status == 200 || status == 429) << status;
        }
        ASSERT_EQ(status, 200);
    }
    auto r = h.call_tcp("GET", "/v1/providers");
    EXPECT_EQ(r.status, 200) << r.body;
    // One of them made way (the oldest, unless its thread had not yet gone back to idle); the
    // daemon shut it down before it accepted the newcomer's request, so the close is already here.
    size_t closed = 0;
    for (int fd : kept) closed += !still_open(fd);
    EXPECT_EQ(closed, 1u);
    for (int fd : silent) ::close(fd);
    for (int fd : kept) ::close(fd);
}

// A newcomer is refused only when every connection of its peer serves an authenticated request:
// four uploads announced with the token hold 127.0.0.3's four places (waiting for their bodies),
// and its fifth connection gets 429 too_many_connections and is closed; the four stay open.
TEST(ClientQuotas, APeerWhoseConnectionsAllServeRequestsIsRefused) {
    Harness h(nullptr, connection_caps(64, 4));
    std::vector<int> busy;
    for (int i = 0; i < 4; ++i) {
        busy.push_back(connect_tcp_from("127.0.0.3", h.tcp_port));
        ASSERT_GE(busy.back(), 0) << "cannot bind 127.0.0.3";
        ASSERT_EQ(announce_upload(busy.back(), 1, kToken), 100);
    }
    const int fifth = connect_tcp_from("127.0.0.3", h.tcp_port);
    auto r = read_reply(fifth, 5s);
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(r.headers["retry-after"], "1");
    EXPECT_EQ(body_json(r).value("error", json::object()).value("code", ""), "too_many_connections") << r.body;
    EXPECT_TRUE(closed_by_daemon(fifth));
    for (int fd : busy) EXPECT_TRUE(still_open(fd));
    EXPECT_EQ(h.metric("microvmd_client_quota_refusals_total{quota=\"connections_per_peer\"}"), 1);
    ::close(fifth);
    for (int fd : busy) ::close(fd);
}

// On the Unix socket the peer is its uid: two requests in progress (announced uploads) hold its
// two places, a third connection is refused; another peer is served.
TEST(ClientQuotas, AUnixPeerIsCappedByUid) {
    Harness h(nullptr, connection_caps(8, 2));
    int a = connect_unix(h.socket_path), b = connect_unix(h.socket_path);
    ASSERT_EQ(announce_upload(a, 1, ""), 100);
    ASSERT_EQ(announce_upload(b, 1, ""), 100);
    // Sends nothing (a request the daemon leaves unread would reset the connection under the reply).
    const int t = connect_unix(h.socket_path);
    auto third = read_reply(t, 5s);
    ::close(t);
    EXPECT_EQ(third.status, 429) << third.body;
    EXPECT_EQ(h.call_tcp("GET", "/healthz").status, 200);  // another peer
    ::close(a);
    ::close(b);
}
