// Allow/block lists on the qemu provider (issues 11, 12): the VM's one network device is a tap
// device in QEMU's own network namespace, whose other end is the egress proxy's listener at
// 10.0.2.2:3128; the guest has no default route. Servers listen on the host's 127.0.0.1 only; a
// test resolver maps the test names there, and a test-only hook lets the proxy reach loopback.
// Each VM test cold-boots one VM (seconds under TCG), so each checks several things.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>

#include "host/egress.hpp"
#include "proxy_support.hpp"
#include "qemu/egress_link.hpp"
#include "qemu/qemu_command.hpp"
#include "qemu/qemu_provider.hpp"
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

class QemuEgressTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        provider_ = new microvm::QemuProvider();
        auto a = provider_->availability();
        available_ = a.available;
        why_ = a.reason;
        if (available_) {
            auto ok = provider_->initialize(nlohmann::json::object());
            if (!ok) {
                available_ = false;
                why_ = ok.error().message;
            }
        }
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
// other port on the gateway, and (as root in the guest, adding the route itself) nothing behind
// the gateway either, since QEMU's network namespace has only lo and the tap device.
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
    EXPECT_EQ(r.metadata.provider_details["start"], "cold_boot") << out;
    EXPECT_TRUE(contains(out, "proxy http://10.0.2.2:3128\n")) << out;
    EXPECT_TRUE(contains(out, "hello [allowed 0]\n")) << out;
    EXPECT_TRUE(contains(out, "403 Forbidden\n[other 1]")) << out;  // the proxy's refusal
    EXPECT_TRUE(contains(out, "Connection refused")) << out;  // the gateway's other ports
    EXPECT_FALSE(contains(out, "[gateway port 0]")) << out;
    EXPECT_TRUE(contains(out, "Network is unreachable")) << out;  // no route: nothing is sent
    EXPECT_FALSE(contains(out, "[outside 0]")) << out;
    EXPECT_TRUE(contains(out, "[route 0]")) << out;  // the guest's root added its own route
    EXPECT_FALSE(contains(out, "[routed 0]")) << out;  // which leads nowhere

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
