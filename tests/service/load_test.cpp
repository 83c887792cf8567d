// Bounded load over loopback: 32 concurrent clients, 400 executions on the process provider,
// no error, no 429 (the queue is sized for the clients), and nothing left behind afterwards: no
// child process, no new mount, no session or state file. p50/p99 are printed, not asserted
// (speed is measured under bench/).
#include <gtest/gtest.h>
#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <thread>

#include "harness.hpp"
#include "support/expectations.hpp"

using namespace svctest;
using namespace std::chrono_literals;

namespace {

size_t mount_count() {
    std::ifstream in("/proc/self/mountinfo");
    size_t n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
}

// Processes whose parent is this test process.
size_t child_count() {
    size_t n = 0;
    const std::string me = std::to_string(::getpid());
    DIR* d = ::opendir("/proc");
    while (struct dirent* e = ::readdir(d)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        std::ifstream stat(std::string("/proc/") + e->d_name + "/stat");
        std::string s;
        std::getline(stat, s);
        size_t close = s.rfind(')');
        if (close == std::string::npos) continue;
        // ") S PPID ..."
        std::string rest = s.substr(close + 4);
        if (rest.substr(0, rest.find(' ')) == me) ++n;
    }
    ::closedir(d);
    return n;
}

}  // namespace

TEST(Load, ThirtyTwoClientsOnProcessLeaveNothingBehind) {
    MICROVM_REQUIRE("process", provider_available("process"), "the process provider is unavailable here");
    Harness h([](microvm::service::ServiceOptions& o) { o.admission = {8, 64}; });
    const size_t mounts_before = mount_count();
    const std::string body = R"({"provider":"process","fs_policy":"ro","run":["/bin/sh","-c","echo $$"]})";
    std::atomic<int> failures{0};
    std::vector<std::vector<double>> latencies(32);
    std::vector<std::thread> clients;
    for (int c = 0; c < 32; ++c)
        clients.emplace_back([&, c] {
            int fd = connect_tcp(h.tcp_port);
            for (int i = 0; i < 400 / 32 + (c < 400 % 32); ++i) {
                auto t0 = std::chrono::steady_clock::now();
                send_all(fd, "POST /v1/executions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kToken +
                                 "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
                auto r = read_reply(fd, 120s);
                latencies[c].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
                if (r.status != 200 || body_json(r)["status"] != "ok") {
                    ++failures;
                    ::close(fd);
                    fd = connect_tcp(h.tcp_port);
                }
            }
            ::close(fd);
        });
    for (auto& t : clients) t.join();
    EXPECT_EQ(failures.load(), 0);
    std::vector<double> all;
    for (auto& v : latencies) all.insert(all.end(), v.begin(), v.end());
    ASSERT_EQ(all.size(), 400u);
    std::sort(all.begin(), all.end());
    std::printf("400 executions, 32 clients: p50 %.1f ms, p99 %.1f ms\n", all[200], all[396]);
    EXPECT_EQ(h.metric("microvmd_executions_total{provider=\"process\",status=\"ok\"}"), 400);
    EXPECT_EQ(h.metric("microvmd_active_executions{provider=\"process\"}"), 0);
    EXPECT_EQ(child_count(), 0u);
    EXPECT_EQ(mount_count(), mounts_before);
    EXPECT_TRUE(std::filesystem::is_empty(h.dir + "/state/sandboxes"));
}
