// Allow/block lists on the qemu provider (issues 11, 12): the VM's one network device is a tap
// device in QEMU's own network namespace, whose other end is the egress proxy's listener at
// 10.0.2.2:3128; the guest has no default route. Servers listen on the host's 127.0.0.1 only; a
// test resolver maps the test names there, and a test-only hook lets the proxy reach loopback.
// Each VM test cold-boots one VM (seconds under TCG), so each checks several things.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include "host/egress.hpp"
#include "host/fd_passing.hpp"
#include "proxy_support.hpp"
#include "qemu/egress_link.hpp"
#include "qemu/qemu_command.hpp"
#include "qemu/qemu_provider.hpp"
#include "qemu_fixture.hpp"
#include "support/expectations.hpp"

namespace {

using namespace std::chrono_literals;
using microvm::ExecutionContext;
using microvm::ExecutionResult;
using microvm::Reason;
using microvm::Status;
using proxytest::RecordingServer;

const std::string kReply = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";

std::string describe(const ExecutionResult& r) {
    return "status " + std::to_string(static_cast<int>(r.status)) + ", error " +
           (r.error ? r.error->message : "-") + ", stdout [" + r.metadata.stdout_data +
           "], stderr [" + r.metadata.stderr_data + "]";
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// The pure parts: the command line hands QEMU the tap descriptor, and the program's proxy
// variables name the gateway.
TEST(QemuEgressUnits, TapDeviceOnTheCommandLineAndProxyVariablesAtTheGateway) {
    microvm::qemu::VmSpec spec;
    spec.qemu = "/usr/bin/qemu-system-x86_64";
    spec.egress = true;
    auto argv = microvm::qemu::qemu_argv(spec, "/run/vm");
    auto tap = std::find(argv.begin(), argv.end(), "tap,id=n0,fd=" + std::to_string(microvm::qemu::kEgressTapFd));
    ASSERT_NE(tap, argv.end());
    EXPECT_EQ(*(tap - 1), "-netdev");
    EXPECT_NE(std::find(argv.begin(), argv.end(), "virtio-net-device,netdev=n0"), argv.end());
    EXPECT_EQ(std::count(argv.begin(), argv.end(), "-netdev"), 1);
    spec.egress = false;
    argv = microvm::qemu::qemu_argv(spec, "/run/vm");
    EXPECT_EQ(std::find(argv.begin(), argv.end(), "-netdev"), argv.end());

    auto env = microvm::host::egress_environment(microvm::qemu::kEgressGateway);
    EXPECT_NE(std::find(env.begin(), env.end(), "http_proxy=http://10.0.2.2:3128"), env.end());
    EXPECT_NE(std::find(env.begin(), env.end(), "all_proxy=socks5h://10.0.2.2:3128"), env.end());
    EXPECT_NE(std::find(env.begin(), env.end(), "no_proxy="), env.end());
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// An ARP request for the gateway (10.0.2.2) from sender_ip, as the guest would put it on the wire.
std::string arp_request(const char* sender_ip, unsigned char mac_tail) {
    const unsigned char mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, mac_tail};
    std::string f(60, '\0');  // the minimum Ethernet frame, zero-padded
    auto put = [&](size_t at, const void* p, size_t n) { std::memcpy(&f[at], p, n); };
    std::memset(&f[0], 0xff, 6);  // broadcast
    put(6, mac, 6);
    const unsigned char head[] = {0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01};
    put(12, head, sizeof head);  // ARP, Ethernet/IPv4, request
    put(22, mac, 6);
    in_addr sip{}, tip{};
    ::inet_pton(AF_INET, sender_ip, &sip);
    ::inet_pton(AF_INET, "10.0.2.2", &tip);
    put(28, &sip, 4);
    put(38, &tip, 4);
    return f;
}

// The host's side of the link, set up as QEMU's child sets it up (in a network namespace of a
// thread's own) and attacked as a guest would attack it, by frames written into the tap: the
// kernel's neighbour tables are shared by every namespace, so an entry per address the guest
// invents would let it fill them for the host. Only the guest's own address makes an entry;
// IPv6 (endless link-local sources) is off; forwarding and route_localnet are off.
TEST(QemuEgressUnits, TheLinkAcceptsTheGuestsAddressOnlyAndHasNoIpv6) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "a network namespace with a tap device needs root");
    std::thread([] {
        ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << std::strerror(errno);
        int pair[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
        microvm::host::UniqueFd to_host(pair[0]), from_child(pair[1]);
        const char* step = "";
        microvm::host::UniqueFd tap(microvm::qemu::set_up_egress_link(to_host.get(), 3128, &step));
        ASSERT_TRUE(tap.valid()) << step << ": " << std::strerror(errno);
        auto listener = microvm::host::receive_fd(from_child.get(), "listener", 5s);
        ASSERT_TRUE(listener && *listener);
        sockaddr_in bound{};
        socklen_t length = sizeof bound;
        ASSERT_EQ(::getsockname((*listener)->get(), reinterpret_cast<sockaddr*>(&bound), &length), 0);
        EXPECT_EQ(ntohl(bound.sin_addr.s_addr), microvm::qemu::kEgressGatewayIp);
        EXPECT_EQ(ntohs(bound.sin_port), 3128);

        const std::string net = "/proc/sys/net/";
        EXPECT_EQ(read_text(net + "ipv6/conf/tap0/disable_ipv6"), "1\n");
        EXPECT_EQ(read_text("/proc/thread-self/net/if_inet6").find("tap0"), std::string::npos);
        EXPECT_EQ(read_text(net + "ipv4/conf/all/rp_filter"), "1\n");
        EXPECT_EQ(read_text(net + "ipv4/conf/tap0/forwarding"), "0\n");
        EXPECT_EQ(read_text(net + "ipv4/conf/tap0/route_localnet"), "0\n");
        // Routes: the guest's address alone (10.0.2.15 is 0F02000A in /proc's byte order).
        const std::string routes = read_text("/proc/thread-self/net/route");
        EXPECT_NE(routes.find("tap0\t0F02000A\t00000000\t0005"), std::string::npos) << routes;
        EXPECT_EQ(routes.find("00FFFFFF"), std::string::npos) << routes;  // no /24 on the link

        // The attack: requests from invented senders, then one from the guest's address.
        for (unsigned char i = 1; i <= 20; ++i) {
            const std::string ip = "1.0.0." + std::to_string(i);
            const std::string frame = arp_request(ip.c_str(), i);
            ASSERT_EQ(::write(tap.get(), frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
        }
        const std::string own = arp_request("10.0.2.15", 0x99);
        ASSERT_EQ(::write(tap.get(), own.data(), own.size()), static_cast<ssize_t>(own.size()));
        std::string arp;
        for (int i = 0; i < 200; ++i) {  // the guest's entry shows the frames were processed
            arp = read_text("/proc/thread-self/net/arp");
            if (arp.find("10.0.2.15 ") != std::string::npos) break;
            std::this_thread::sleep_for(10ms);
        }
        EXPECT_NE(arp.find("10.0.2.15 "), std::string::npos) << arp;
        EXPECT_EQ(arp.find("1.0.0."), std::string::npos) << arp;
    }).join();
}

class QemuEgressTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        provider_ = qemutest::new_initialized_provider(available_, why_);
        provider_->set_egress_test_hooks({proxytest::test_resolver(), true});
    }
    static void TearDownTestSuite() {
        provider_->cleanup();
        delete provider_;
        provider_ = nullptr;
    }
    void SetUp() override { MICROVM_REQUIRE("qemu", available_, why_); }

    static ExecutionResult run_sh(const std::string& policy, const std::string& script) {
        ExecutionContext ctx;
        ctx.program = microvm::ExternalProgram{"/bin/sh", {"-c", script}};
        ctx.config.timeout = 60s;
        ctx.config.network_policy = proxytest::policy(policy);
        return provider_->execute_program(ctx);
    }

    static inline microvm::QemuProvider* provider_ = nullptr;
    static inline bool available_ = false;
    static inline std::string why_;
};

// One VM: busybox wget through the proxy reaches the allowed name and is refused the other; the
// program that ignores the proxy variables reaches nothing: no route off the link (at once), no
// other port on the gateway. It cannot add a route of its own (it is not root in the guest);
// root could, and would find nothing behind the gateway either, since QEMU's network namespace
// has only lo and the tap device (QemuEgressUnits).
TEST_F(QemuEgressTest, AllowListIsTheOnlyWayOutOfTheVm) {
    RecordingServer server(kReply, true);
    const std::string port = std::to_string(server.port());
    const std::string script =
        "echo \"proxy $http_proxy\"\n"
        "wget -q -O - http://allowed.test:" + port + "/path 2>&1; echo \" [allowed $?]\"\n"
        "wget -q -O - http://other.test:" + port + "/ 2>&1; echo \"[other $?]\"\n"
        "nc 10.0.2.2 " + port + " </dev/null 2>&1; echo \"[gateway port $?]\"\n"
        "nc 192.0.2.1 80 </dev/null 2>&1; echo \"[outside $?]\"\n"
        "route add default gw 10.0.2.2 2>&1; echo \"[route $?]\"\n"
        "nc -w 2 192.0.2.1 80 </dev/null 2>&1; echo \"[routed $?]\"\n";
    ExecutionResult r = run_sh("allow=allowed.test", script);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    const std::string& out = r.metadata.stdout_data;
    // Restored from the template with the link's device (built by this run if it was missing).
    EXPECT_EQ(r.metadata.provider_details["start"], "restored")
        << r.metadata.provider_details["cold_boot_why"] << out;
    EXPECT_TRUE(contains(out, "proxy http://10.0.2.2:3128\n")) << out;
    EXPECT_TRUE(contains(out, "hello [allowed 0]\n")) << out;
    EXPECT_TRUE(contains(out, "403 Forbidden\n[other 1]")) << out;  // the proxy's refusal
    EXPECT_TRUE(contains(out, "Connection refused")) << out;  // the gateway's other ports
    EXPECT_FALSE(contains(out, "[gateway port 0]")) << out;
    EXPECT_TRUE(contains(out, "Network is unreachable")) << out;  // no route: nothing is sent
    EXPECT_FALSE(contains(out, "[outside 0]")) << out;
    EXPECT_FALSE(contains(out, "[route 0]")) << out;  // not root in the guest: no route of its own
    EXPECT_FALSE(contains(out, "[routed 0]")) << out;

    auto seen = server.seen(1);
    ASSERT_EQ(seen.size(), 1u);  // only the allowed fetch reached the server
    EXPECT_EQ(seen[0].received.rfind("GET /path HTTP/1.1\r\n", 0), 0u) << seen[0].received;
    ASSERT_EQ(r.metadata.network_requests.size(), 2u) << out;
    const rtfs::NetworkRequest& ok = r.metadata.network_requests[0];
    EXPECT_EQ(ok.allowed, true);
    EXPECT_EQ(ok.host, "allowed.test");
    EXPECT_EQ(ok.method, "GET");
    EXPECT_EQ(ok.port, server.port());
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(ok.bytes_sent, seen[0].received.size());
    EXPECT_EQ(ok.bytes_received, seen[0].sent);
    const rtfs::NetworkRequest& refused = r.metadata.network_requests[1];
    EXPECT_EQ(refused.allowed, false);
    EXPECT_EQ(refused.host, "other.test");
    EXPECT_NE(refused.rule, "");
}

TEST_F(QemuEgressTest, BlockListRefusesItsNamesAndPassesTheRest) {
    RecordingServer server(kReply, true);
    const std::string port = std::to_string(server.port());
    ExecutionResult r = run_sh("block=other.test",
                               "wget -q -O - http://other.test:" + port + "/ 2>&1; echo \"[other $?]\"\n"
                               "wget -q -O - http://allowed.test:" + port + "/ 2>&1; echo \" [allowed $?]\"\n");
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_FALSE(contains(r.metadata.stdout_data, "[other 0]")) << r.metadata.stdout_data;
    EXPECT_TRUE(contains(r.metadata.stdout_data, "hello [allowed 0]\n")) << r.metadata.stdout_data;
    EXPECT_EQ(server.seen(1).size(), 1u);
    ASSERT_EQ(r.metadata.network_requests.size(), 2u);
    EXPECT_EQ(r.metadata.network_requests[0].allowed, false);
    EXPECT_EQ(r.metadata.network_requests[0].host, "other.test");
    EXPECT_EQ(r.metadata.network_requests[1].allowed, true);
    EXPECT_EQ(r.metadata.network_requests[1].host, "allowed.test");
}

// Network full is QEMU's user network, restored from a template with that device like the lists:
// the guest gets its default route and resolver at Setup, and reaches the host's loopback at
// the gateway (no list, no proxy: nothing is recorded).
TEST_F(QemuEgressTest, FullNetworkIsQemusUserNetworkInARestoredVm) {
    RecordingServer server(kReply, true);
    ExecutionResult r = run_sh("full", "wget -q -O - http://10.0.2.2:" + std::to_string(server.port()) +
                                           "/full 2>&1; echo \" [fetched $?]\"; route -n; cat /etc/resolv.conf");
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    const std::string& out = r.metadata.stdout_data;
    EXPECT_EQ(r.metadata.provider_details["start"], "restored")
        << r.metadata.provider_details["cold_boot_why"] << out;
    EXPECT_TRUE(contains(out, "hello [fetched 0]\n")) << out;
    EXPECT_TRUE(contains(out, "0.0.0.0         10.0.2.2")) << out;  // the default route
    EXPECT_TRUE(contains(out, "nameserver 10.0.2.3")) << out;
    ASSERT_EQ(server.seen(1).size(), 1u);
    EXPECT_TRUE(r.metadata.network_requests.empty());
}

// A pooled VM of a list's machine (pool_size) is set up with that machine's network when taken:
// the proxy is its way out as for a restored one.
TEST_F(QemuEgressTest, PooledVmsOfAListsMachineGetItsNetwork) {
    microvm::QemuProvider pooled;
    ASSERT_TRUE(pooled.initialize({{"pool_size", 1}}));
    pooled.set_egress_test_hooks({proxytest::test_resolver(), true});
    RecordingServer server(kReply, true);
    ExecutionContext ctx;
    ctx.program = microvm::ExternalProgram{
        "/bin/sh", {"-c", "wget -q -O - http://allowed.test:" + std::to_string(server.port()) +
                              "/ 2>&1; echo \" [allowed $?]\""}};
    ctx.config.timeout = 60s;
    ctx.config.network_policy = proxytest::policy("allow=allowed.test");
    ExecutionResult first = pooled.execute_program(ctx);  // asks the pool for this machine
    ASSERT_EQ(first.status, Status::Ok) << describe(first);
    ExecutionResult second;
    for (int i = 0; i < 40; ++i) {  // the pool's worker restores the next VM meanwhile
        std::this_thread::sleep_for(500ms);
        second = pooled.execute_program(ctx);
        if (second.metadata.provider_details["start"] == "pool") break;
    }
    pooled.cleanup();
    ASSERT_EQ(second.status, Status::Ok) << describe(second);
    EXPECT_EQ(second.metadata.provider_details["start"], "pool");
    EXPECT_TRUE(contains(second.metadata.stdout_data, "hello [allowed 0]\n")) << second.metadata.stdout_data;
    ASSERT_EQ(second.metadata.network_requests.size(), 1u);
}

// A cold-booted VM (setting start = cold) gets the same link: the proxy is its one way out.
TEST_F(QemuEgressTest, ColdBootedVmsHaveTheSameOnlyWayOut) {
    microvm::QemuProvider cold;
    ASSERT_TRUE(cold.initialize({{"start", "cold"}}));
    cold.set_egress_test_hooks({proxytest::test_resolver(), true});
    RecordingServer server(kReply, true);
    const std::string port = std::to_string(server.port());
    ExecutionContext ctx;
    ctx.program = microvm::ExternalProgram{
        "/bin/sh", {"-c", "wget -q -O - http://allowed.test:" + port + "/ 2>&1; echo \" [allowed $?]\"\n"
                          "nc 192.0.2.1 80 </dev/null 2>&1; echo \"[outside $?]\"\n"}};
    ctx.config.timeout = 60s;
    ctx.config.network_policy = proxytest::policy("allow=allowed.test");
    ExecutionResult r = cold.execute_program(ctx);
    cold.cleanup();
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.provider_details["start"], "cold_boot");
    EXPECT_TRUE(contains(r.metadata.stdout_data, "hello [allowed 0]\n")) << r.metadata.stdout_data;
    EXPECT_TRUE(contains(r.metadata.stdout_data, "Network is unreachable")) << r.metadata.stdout_data;
    ASSERT_EQ(r.metadata.network_requests.size(), 1u);
}

// RTFS in the VM has no HTTP client: a list stays refused for it (before any VM starts).
TEST_F(QemuEgressTest, RtfsWithAHostListIsStillRefused) {
    ExecutionContext ctx;
    ctx.program = microvm::RtfsSource{"(+ 1 2)"};
    ctx.config.network_policy = proxytest::policy("allow=allowed.test");
    ExecutionResult r = provider_->execute_program(ctx);
    ASSERT_TRUE(r.error.has_value()) << describe(r);
    EXPECT_EQ(r.error->reason, Reason::PolicyRefused);
    EXPECT_TRUE(contains(r.error->message, "no HTTP client")) << r.error->message;
}

}  // namespace
