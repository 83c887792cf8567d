// Allow/block lists on the process provider (issue 12): the sandbox's network namespace has
// loopback only, and the egress proxy answers on its 127.0.0.1:3128; curl inside uses the proxy
// variables the provider sets. Servers listen on the host's 127.0.0.1 only; a test resolver maps
// the test names there, and a test-only hook lets the proxy reach loopback. Each test would fail
// if the proxy stopped judging, or if the sandbox had another way out.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "microvm/guest_protocol.hpp"
#include "process/process_provider.hpp"
#include "proxy_support.hpp"
#include "support/expectations.hpp"

namespace {

using namespace std::chrono_literals;
using microvm::ExecutionContext;
using microvm::ExecutionResult;
using microvm::NetworkPolicy;
using microvm::Status;
using proxytest::RecordingServer;
using proxytest::TlsServer;

const std::string kReply = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";

std::string describe(const ExecutionResult& r) {
    return "status " + std::to_string(static_cast<int>(r.status)) + ", error " +
           (r.error ? r.error->message : "-") + ", stdout [" + r.metadata.stdout_data +
           "], stderr [" + r.metadata.stderr_data + "]";
}

std::string at(const std::string& host, uint16_t port) {
    return host + ":" + std::to_string(port);
}

class ProcessEgressTest : public ::testing::Test {
  protected:
    void SetUp() override { start(true, nlohmann::json::object()); }
    void TearDown() override {
        if (provider_) provider_->cleanup();
        std::error_code ec;
        if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
    }

    void start(bool permit_loopback, const nlohmann::json& settings) {
        if (provider_) provider_->cleanup();
        provider_ = std::make_unique<microvm::ProcessProvider>();
        microvm::Availability a = provider_->availability();
        MICROVM_REQUIRE("process", a.available, a.reason);
        auto ok = provider_->initialize(settings);
        ASSERT_TRUE(ok) << ok.error().message;
        provider_->set_egress_test_hooks({proxytest::test_resolver(), permit_loopback});
    }

    // curl in the sandbox under policy: -sS, 10 s at most, the body then "\n" and the status.
    ExecutionResult curl(const std::string& policy, std::vector<std::string> args) {
        ExecutionContext ctx;
        std::vector<std::string> argv = {"-sS", "--max-time", "10", "-w", "\\n%{http_code}"};
        argv.insert(argv.end(), args.begin(), args.end());
        ctx.program = microvm::ExternalProgram{"/usr/bin/curl", std::move(argv)};
        ctx.config.timeout = 30s;
        ctx.config.network_policy = proxytest::policy(policy);
        if (!dir_.empty()) ctx.config.fs_policy = microvm::FileSystemPolicy::read_only({dir_});
        return provider_->execute_program(ctx);
    }

    // A directory the sandbox may read, holding the TLS server's certificate.
    std::string ca_file(const TlsServer& server) {
        char tmpl[] = "/tmp/egress-test-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        ::chmod(dir_.c_str(), 0755);
        const std::string path = dir_ + "/ca.pem";
        std::ofstream(path) << server.ca_pem();
        ::chmod(path.c_str(), 0644);
        return path;
    }

    std::unique_ptr<microvm::ProcessProvider> provider_;
    std::string dir_;
};

TEST_F(ProcessEgressTest, AllowedNameIsReachedOverHttpAndRecordedAsTheServerSawIt) {
    RecordingServer server(kReply, true);
    const std::string host = at("allowed.test", server.port());
    ExecutionResult r = curl("allow=allowed.test", {"http://" + host + "/path"});
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "hello\n200");
    auto seen = server.seen(1);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].received.rfind("GET /path HTTP/1.1\r\nHost: " + host + "\r\n", 0), 0u)
        << seen[0].received;
    ASSERT_EQ(r.metadata.network_requests.size(), 1u);
    const rtfs::NetworkRequest& q = r.metadata.network_requests[0];
    EXPECT_EQ(q.allowed, true);
    EXPECT_EQ(q.rule, "allow entry allowed.test");
    EXPECT_EQ(q.method, "GET");
    EXPECT_EQ(q.host, "allowed.test");
    EXPECT_EQ(q.port, server.port());
    EXPECT_EQ(q.status, 200);
    EXPECT_EQ(q.bytes_sent, seen[0].received.size());
    EXPECT_EQ(q.bytes_received, seen[0].sent);
    EXPECT_GT(q.duration.count(), 0);
}

TEST_F(ProcessEgressTest, AllowedNameIsReachedThroughConnectWithAVerifiedTlsHandshake) {
    TlsServer server({"allowed.test"});
    const std::string ca = ca_file(server);
    ExecutionResult r =
        curl("allow=allowed.test", {"--cacert", ca, "https://" + at("allowed.test", server.port()) + "/hello"});
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "hello over tls\n200");
    EXPECT_EQ(server.hits(), 1);
    ASSERT_EQ(r.metadata.network_requests.size(), 1u);
    const rtfs::NetworkRequest& q = r.metadata.network_requests[0];
    EXPECT_EQ(q.method, "CONNECT");
    EXPECT_EQ(q.url, at("allowed.test", server.port()));
    EXPECT_EQ(q.allowed, true);
    EXPECT_GT(q.bytes_sent, 200u);
    EXPECT_GT(q.bytes_received, 300u);
}

TEST_F(ProcessEgressTest, NamesOffTheAllowListAreRefusedAndRecorded) {
    RecordingServer server(kReply, true);
    ExecutionResult r = curl("allow=allowed.test", {"http://" + at("other.test", server.port()) + "/"});
    EXPECT_NE(r.metadata.stdout_data, "hello\n200") << describe(r);
    EXPECT_EQ(server.connections(), 0);
    ASSERT_EQ(r.metadata.network_requests.size(), 1u);
    EXPECT_EQ(r.metadata.network_requests[0].allowed, false);
    EXPECT_EQ(r.metadata.network_requests[0].host, "other.test");
    EXPECT_NE(r.metadata.network_requests[0].rule, "");
}

TEST_F(ProcessEgressTest, BlockListRefusesItsNamesAndAllowsTheRest) {
    RecordingServer server(kReply, true);
    ExecutionResult blocked = curl("block=other.test", {"http://" + at("other.test", server.port()) + "/"});
    EXPECT_EQ(server.connections(), 0) << describe(blocked);
    ASSERT_EQ(blocked.metadata.network_requests.size(), 1u);
    EXPECT_EQ(blocked.metadata.network_requests[0].allowed, false);
    ExecutionResult passed = curl("block=other.test", {"http://" + at("allowed.test", server.port()) + "/"});
    ASSERT_EQ(passed.status, Status::Ok) << describe(passed);
    EXPECT_EQ(passed.metadata.stdout_data, "hello\n200");
    EXPECT_EQ(server.connections(), 1);
}

TEST_F(ProcessEgressTest, IpLiteralsAreRefusedUnlessListedAsIps) {
    RecordingServer server(kReply, true);
    ExecutionResult r = curl("allow=allowed.test", {"http://" + at("127.0.0.1", server.port()) + "/"});
    EXPECT_EQ(server.connections(), 0) << describe(r);
    ASSERT_EQ(r.metadata.network_requests.size(), 1u);
    EXPECT_EQ(r.metadata.network_requests[0].allowed, false);
    EXPECT_EQ(r.metadata.network_requests[0].host, "127.0.0.1");
}

TEST_F(ProcessEgressTest, TlsServerNameMismatchIsRefused) {
    TlsServer server({"allowed.test", "other.test"});
    const std::string ca = ca_file(server);
    const std::string port = std::to_string(server.port());
    // Tunnel to allowed.test, name other.test in the ClientHello: domain fronting.
    ExecutionResult r = curl("allow=allowed.test",
                             {"--cacert", ca, "--connect-to", "other.test:" + port + ":allowed.test:" + port,
                              "https://other.test:" + port + "/hello"});
    EXPECT_NE(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(server.hits(), 0);
    ASSERT_EQ(r.metadata.network_requests.size(), 1u);
    EXPECT_EQ(r.metadata.network_requests[0].allowed, false);
    EXPECT_EQ(r.metadata.network_requests[0].rule,
              "TLS server name other.test does not match the tunnel's host allowed.test");
}

// The attack: a program that ignores the proxy variables and connects by itself, to the host's
// loopback (where a server listens) or to any other address.
TEST_F(ProcessEgressTest, AProgramIgnoringTheProxyVariablesCannotConnect) {
    RecordingServer server(kReply, true);
    ExecutionResult loopback = curl("allow=allowed.test", {"--noproxy", "*", "http://" + at("127.0.0.1", server.port()) + "/"});
    EXPECT_EQ(loopback.status, Status::RuntimeError) << describe(loopback);
    EXPECT_NE(loopback.metadata.stderr_data.find("Failed to connect"), std::string::npos)
        << describe(loopback);
    // No route leaves the sandbox's namespace: the kernel answers at once, nothing is sent.
    ExecutionResult outside = curl("allow=allowed.test", {"-v", "--noproxy", "*", "http://192.0.2.1:80/"});
    EXPECT_EQ(outside.status, Status::RuntimeError) << describe(outside);
    EXPECT_NE(outside.metadata.stderr_data.find("Network is unreachable"), std::string::npos)
        << describe(outside);
    EXPECT_EQ(server.connections(), 0);
    EXPECT_TRUE(loopback.metadata.network_requests.empty());
}

TEST_F(ProcessEgressTest, SocksWithNamesResolvedByTheProxyWorks) {
    TlsServer server({"allowed.test"});
    const std::string ca = ca_file(server);
    ExecutionResult r = curl("allow=allowed.test", {"--cacert", ca, "--proxy", "socks5h://127.0.0.1:3128",
                                                    "https://" + at("allowed.test", server.port()) + "/hello"});
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "hello over tls\n200");
    ASSERT_EQ(r.metadata.network_requests.size(), 1u);
    EXPECT_EQ(r.metadata.network_requests[0].method, "SOCKS5");
    EXPECT_EQ(r.metadata.network_requests[0].allowed, true);
    // Plain HTTP goes through the HTTP proxy, which checks its Host: a SOCKS5 tunnel refuses it.
    RecordingServer plain(kReply, true);
    r = curl("allow=allowed.test", {"--proxy", "socks5h://127.0.0.1:3128", "http://" + at("allowed.test", plain.port()) + "/"});
    EXPECT_NE(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(plain.seen(1).at(0).received, "");
    ASSERT_EQ(r.metadata.network_requests.size(), 1u);
    EXPECT_EQ(r.metadata.network_requests[0].rule, "a SOCKS5 tunnel carries TLS or SSH");
}

// Without the test hook, names whose answers are loopback, link-local (cloud metadata) or
// private are refused whatever the list says.
TEST_F(ProcessEgressTest, AnswersPointingAtInternalAddressesAreRefused) {
    start(/*permit_loopback=*/false, nlohmann::json::object());
    RecordingServer server(kReply, true);
    const std::string port = std::to_string(server.port());
    ExecutionResult r = curl("allow=loopback.test,metadata.test,private.test",
                             {"http://loopback.test:" + port + "/", "http://metadata.test:" + port + "/",
                              "http://private.test:" + port + "/"});
    EXPECT_EQ(server.connections(), 0) << describe(r);
    ASSERT_EQ(r.metadata.network_requests.size(), 3u) << describe(r);
    for (const auto& q : r.metadata.network_requests) {
        EXPECT_EQ(q.allowed, false) << q.host;
    }
    EXPECT_NE(r.metadata.network_requests[0].rule.find("loopback"), std::string::npos)
        << r.metadata.network_requests[0].rule;
    EXPECT_NE(r.metadata.network_requests[1].rule.find("link-local"), std::string::npos)
        << r.metadata.network_requests[1].rule;
    EXPECT_NE(r.metadata.network_requests[2].rule.find("private"), std::string::npos)
        << r.metadata.network_requests[2].rule;
}

TEST_F(ProcessEgressTest, ConnectionsOverTheSettingsLimitAreRefusedAndRecorded) {
    start(true, {{"network_max_connections", 1}});
    RecordingServer server(kReply, true);
    const std::string url = "http://" + at("allowed.test", server.port()) + "/";
    ExecutionResult r = curl("allow=allowed.test", {url, url});
    EXPECT_EQ(server.connections(), 1) << describe(r);
    ASSERT_EQ(r.metadata.network_requests.size(), 2u) << describe(r);
    EXPECT_EQ(r.metadata.network_requests[0].allowed, true);
    EXPECT_EQ(r.metadata.network_requests[1].allowed, false);
    EXPECT_NE(r.metadata.network_requests[1].rule.find("limit"), std::string::npos)
        << r.metadata.network_requests[1].rule;
}

// network_refused_ranges: the host's own refused ranges hold whatever the execution's policy
// lists (here even over the tests' loopback leave), and bad entries stop the initialization.
TEST_F(ProcessEgressTest, TheHostsRefusedRangesHoldOverThePolicy) {
    start(true, {{"network_refused_ranges", {"127.0.0.0/8"}}});
    RecordingServer server(kReply, true);
    const std::string url = "http://" + at("allowed.test", server.port()) + "/";
    ExecutionResult r = curl("allow=allowed.test,127.0.0.1", {url});
    EXPECT_EQ(server.connections(), 0) << describe(r);
    ASSERT_EQ(r.metadata.network_requests.size(), 1u) << describe(r);
    EXPECT_EQ(r.metadata.network_requests[0].allowed, false);
    EXPECT_NE(r.metadata.network_requests[0].rule.find("network_refused_ranges"), std::string::npos)
        << r.metadata.network_requests[0].rule;

    for (const char* bad : {"example.com", "10.0.0.1:80", "10.0.0.1/33", "fd00::/8", "[fd00::]:1", ""}) {
        microvm::ProcessProvider provider;
        auto ok = provider.initialize({{"network_refused_ranges", {bad}}});
        ASSERT_FALSE(ok) << bad;
        EXPECT_NE(ok.error().message.find("network_refused_ranges"), std::string::npos) << ok.error().message;
    }
    microvm::ProcessProvider provider;
    EXPECT_TRUE(provider.initialize({{"network_refused_ranges", {"168.63.129.16", "[fd00::]/8", "fd00::1"}}}));
    provider.cleanup();
}

// Values past what the proxy's arithmetic holds are refused by name, not wrapped: 2^44 + 1 MiB
// was a limit of 1 MiB, and the largest idle timeout, added to the clock, cut every connection
// at once (red team, 2026-12-07).
TEST(ProcessEgressSettings, LimitsBeyondTheProxysArithmeticAreRefused) {
    for (const auto& [key, value] : {std::pair<const char*, int64_t>{"network_max_bytes_mb", 17592186044417},
                                     std::pair<const char*, int64_t>{"network_idle_timeout_ms", INT64_MAX},
                                     std::pair<const char*, int64_t>{"network_max_connections", int64_t{1} << 32}}) {
        microvm::ProcessProvider provider;
        auto ok = provider.initialize({{key, value}});
        ASSERT_FALSE(ok) << key;
        EXPECT_NE(ok.error().message.find(key), std::string::npos) << ok.error().message;
    }
    microvm::ProcessProvider provider;
    EXPECT_TRUE(provider.initialize({{"network_max_bytes_mb", int64_t{1} << 30}, {"network_idle_timeout_ms", 604800000}}));
    provider.cleanup();
}

TEST_F(ProcessEgressTest, TheProxyVariablesAreSetInBothSpellings) {
    ExecutionContext ctx;
    ctx.program = microvm::ExternalProgram{"/usr/bin/env", {}};
    ctx.config.network_policy = NetworkPolicy::allow({"allowed.test"});
    ctx.config.env_vars = {{"NO_PROXY", "*"}, {"http_proxy", "http://elsewhere:1"}};
    ExecutionResult r = provider_->execute_program(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    for (const std::string& line : microvm::host::egress_environment()) {
        EXPECT_NE(r.metadata.stdout_data.find(line + "\n"), std::string::npos) << line;
    }
    EXPECT_EQ(r.metadata.stdout_data.find("elsewhere"), std::string::npos);
    EXPECT_EQ(r.metadata.stdout_data.find("NO_PROXY=*"), std::string::npos);
}

// The attack: a program that leaves connections open (here to a server that never answers) and
// ends. The run's end cuts them (recorded), and nothing of the run stays in the host process.
TEST_F(ProcessEgressTest, ConnectionsLeftOpenAreCutAndLeaveNothingBehind) {
    proxytest::RawServer silent([](int fd) {
        char buf[256];
        while (::read(fd, buf, sizeof buf) > 0) {
        }
    });
    const std::string url = "http://" + at("allowed.test", silent.port()) + "/";
    curl("allow=allowed.test", {"--max-time", "1", url});  // warm-up: libraries, caches
    ASSERT_TRUE(silent.all_closed_within(5s));  // the server's end of the warm-up's connection
    // The warm-up's sandbox is torn down right after its result: count once that is done.
    const int baseline = proxytest::open_fds_stable();
    for (int i = 0; i < 5; ++i) {
        ExecutionResult r = curl("allow=allowed.test", {"--max-time", "1", url});
        EXPECT_NE(r.status, Status::Ok) << describe(r);
        ASSERT_EQ(r.metadata.network_requests.size(), 1u) << describe(r);
        EXPECT_EQ(r.metadata.network_requests[0].allowed, true);
    }
    EXPECT_TRUE(silent.all_closed_within(5s));
    EXPECT_EQ(proxytest::open_fds_settled(baseline, 5s), baseline);
}

// RTFS http-fetch in the guest runner goes out through the same proxy, recorded by the host.
TEST_F(ProcessEgressTest, RtfsHttpFetchGoesThroughTheProxy) {
    MICROVM_REQUIRE("guest-runner", microvm::guest::find_guest_runner(), "not built");
    RecordingServer server(kReply, true);
    ExecutionContext ctx;
    ctx.program = microvm::RtfsSource{"(get (http-fetch \"http://" + at("allowed.test", server.port()) +
                                      "/x\") :body)"};
    ctx.runtime_context = rtfs::RuntimeContext::full();
    ctx.config.timeout = 30s;
    ctx.config.network_policy = NetworkPolicy::allow({"allowed.test"});
    ExecutionResult r = provider_->execute_program(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    ASSERT_TRUE(r.value);
    EXPECT_EQ(*r.value, "\"hello\"");
    EXPECT_EQ(server.connections(), 1);
    ASSERT_EQ(r.metadata.network_requests.size(), 1u);
    EXPECT_EQ(r.metadata.network_requests[0].allowed, true);
    EXPECT_EQ(r.metadata.network_requests[0].host, "allowed.test");
}

}  // namespace
