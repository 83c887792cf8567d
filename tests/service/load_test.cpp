// Bounded load over loopback: 32 concurrent clients, 2,000 executions on the process provider,
// part of them in sandboxes built ahead (a sandbox pool of the requests' shape), no error, no 429
// (the queue is sized for the clients), and nothing left behind once the service has ended: no
// process, mount, cgroup or temp dir of its sandboxes, no session or state file. p50/p99 are
// printed, not asserted (speed is measured under bench/).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <thread>

#include "harness.hpp"
#include "host_probes.hpp"
#include "service/sandbox_pools.hpp"
#include "support/expectations.hpp"

using namespace svctest;
using namespace std::chrono_literals;

// The 32 clients are one address and one token: the per-peer connection cap is lifted (a client
// reconnecting may briefly have its old connection still counted).
static microvm::service::FrontendOptions load_generator() {
    microvm::service::FrontendOptions f;
    f.max_connections_per_peer = f.max_connections;
    return f;
}

TEST(Load, ThirtyTwoClientsOnProcessLeaveNothingBehind) {
    MICROVM_REQUIRE("process", provider_available("process"), "the process provider is unavailable here");
    constexpr int kExecutions = 2000, kClients = 32;
    const auto before = enforcement::take_snapshot();
    auto h = std::make_unique<Harness>([](microvm::service::ServiceOptions& o) {
        o.admission = {8, 64};
        o.settings.service = {{"sandbox_pools",
                               {{"sh", {{"provider", "process"}, {"size", 8}, {"run", {"/bin/sh"}}, {"fs_policy", "ro"}}}}}};
    }, load_generator());
    ASSERT_TRUE(h->service->sandbox_pools()->wait_full(30s)) << h->service->sandbox_pools()->last_error("sh");
    const std::string body = R"({"provider":"process","fs_policy":"ro","run":["/bin/sh","-c","echo $$"]})";
    std::atomic<int> failures{0};
    std::vector<std::vector<double>> latencies(kClients);
    std::vector<std::thread> clients;
    const auto started = std::chrono::steady_clock::now();
    for (int c = 0; c < kClients; ++c)
        clients.emplace_back([&, c] {
            int fd = connect_tcp(h->tcp_port);
            for (int i = 0; i < kExecutions / kClients + (c < kExecutions % kClients); ++i) {
                auto t0 = std::chrono::steady_clock::now();
                send_all(fd, "POST /v1/executions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kToken +
                                 "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
                auto r = read_reply(fd, 120s);
                latencies[c].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
                if (r.status != 200 || body_json(r)["status"] != "ok") {
                    ++failures;
                    ::close(fd);
                    fd = connect_tcp(h->tcp_port);
                }
            }
            ::close(fd);
        });
    for (auto& t : clients) t.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_EQ(failures.load(), 0);
    std::vector<double> all;
    for (auto& v : latencies) all.insert(all.end(), v.begin(), v.end());
    ASSERT_EQ(all.size(), static_cast<size_t>(kExecutions));
    std::sort(all.begin(), all.end());
    const double hits = h->metric("microvmd_pool_hits_total{pool=\"sh\"}");
    std::printf("%d executions, %d clients: p50 %.1f ms, p99 %.1f ms, %.1f s, %.0f pooled\n", kExecutions, kClients,
                all[kExecutions / 2], all[kExecutions * 99 / 100], seconds, hits);
    EXPECT_EQ(h->metric("microvmd_executions_total{provider=\"process\",status=\"ok\"}"), kExecutions);
    EXPECT_EQ(h->metric("microvmd_active_executions{provider=\"process\"}"), 0);
    EXPECT_EQ(hits + h->metric("microvmd_pool_misses_total{pool=\"sh\"}"), kExecutions);
    EXPECT_GE(hits, 8);  // at least the pool's first fill served
    EXPECT_TRUE(std::filesystem::is_empty(h->dir + "/state/sandboxes"));
    h.reset();  // the pools' sandboxes end with the service
    const auto after = enforcement::take_snapshot();
    EXPECT_EQ(before.children, after.children) << "processes left behind";
    EXPECT_EQ(before.mounts, after.mounts) << "mounts left behind";
    EXPECT_EQ(before.cgroups, after.cgroups) << "cgroups left behind";
    EXPECT_EQ(before.temp_dirs, after.temp_dirs) << "temp dirs left behind";
}
