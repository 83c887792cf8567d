// microvmd against the CLI, same executions, same run: for each case, the latency of sequential
// POST /v1/executions on one keep-alive Unix-socket connection and of sequential one-shot
// `microvm ... --json` invocations (p50, p99), then throughput with 8 clients / 8 parallel CLIs.
// Usage: service_bench [SEQUENTIAL_RUNS] [PARALLEL_RUNS_PER_CLIENT]
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <cstdio>
#include <thread>
#include <vector>

#include "service/http_client.hpp"  // tests/service/http_client.hpp

extern char** environ;

using Clock = std::chrono::steady_clock;
using namespace svctest;

namespace {

struct Case {
    const char* name;
    std::string body;                // the service request
    std::vector<std::string> cli;    // the same through the CLI
};

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void report(const char* what, std::vector<double> v) {
    std::sort(v.begin(), v.end());
    auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))]; };
    std::printf("  %-34s p50 %8.2f ms  p99 %8.2f ms  (n=%zu)\n", what, at(0.5), at(0.99), v.size());
}

bool post(int fd, const std::string& body) {
    std::string req = "POST /v1/executions HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                      "\r\n\r\n" + body;
    if (!send_all(fd, req)) return false;
    auto r = read_reply(fd, std::chrono::seconds(60));
    return r.status == 200 && r.body.find("\"status\":\"ok\"") != std::string::npos;
}

int run_cli(const std::vector<std::string>& args) {
    std::vector<char*> argv{const_cast<char*>(MICROVM_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    if (posix_spawn(&pid, MICROVM_BINARY, &fa, nullptr, argv.data(), environ) != 0) return -1;
    posix_spawn_file_actions_destroy(&fa);
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

double throughput(int clients, int per_client, const std::function<bool()>& one_factory_run) {
    auto start = Clock::now();
    std::vector<std::thread> t;
    std::atomic<int> failures{0};
    for (int c = 0; c < clients; ++c)
        t.emplace_back([&] {
            for (int i = 0; i < per_client; ++i)
                if (!one_factory_run()) ++failures;
        });
    for (auto& x : t) x.join();
    if (failures) std::printf("  (%d failures)\n", failures.load());
    return clients * per_client / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
    const int seq = argc > 1 ? std::atoi(argv[1]) : 200;
    const int par = argc > 2 ? std::atoi(argv[2]) : 25;
    char tmpl[] = "/tmp/microvmd-bench-XXXXXX";
    const std::string dir = ::mkdtemp(tmpl);
    const std::string sock = dir + "/d.sock";
    pid_t daemon;
    std::string listen = "unix:" + sock, state = dir + "/state";
    const char* dargv[] = {MICROVMD_BINARY, "--listen", listen.c_str(), "--state-dir", state.c_str(),
                           "--max-concurrency", "8", "--max-queue", "64", nullptr};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&daemon, MICROVMD_BINARY, &fa, nullptr, const_cast<char**>(dargv), environ) != 0) return 1;
    for (int i = 0; i < 100 && connect_unix(sock) < 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));

    std::vector<Case> cases = {
        {"mock eval (+ 1 2)", R"J({"provider":"mock","eval":"(+ 1 2)"})J", {"eval", "-p", "mock", "--json", "(+ 1 2)"}},
        {"process run /bin/true", R"({"provider":"process","fs_policy":"ro","run":["/bin/true"]})",
         {"run", "-p", "process", "--fs", "ro", "--json", "--", "/bin/true"}},
    };
    std::printf("microvmd vs one-shot CLI, %d sequential, 8 x %d parallel\n", seq, par);
    for (const auto& c : cases) {
        std::printf("%s\n", c.name);
        int fd = connect_unix(sock);
        for (int i = 0; i < 5; ++i) post(fd, c.body);  // warm: provider initialized
        std::vector<double> svc, cli;
        for (int i = 0; i < seq; ++i) {
            auto t0 = Clock::now();
            if (!post(fd, c.body)) std::printf("  service request failed\n");
            svc.push_back(ms(Clock::now() - t0));
            if (i % 4 == 0) {  // the CLI is slower: a quarter as many samples, interleaved
                auto t1 = Clock::now();
                if (run_cli(c.cli) != 0) std::printf("  cli run failed\n");
                cli.push_back(ms(Clock::now() - t1));
            }
        }
        ::close(fd);
        report("microvmd (keep-alive, unix socket)", svc);
        report("microvm CLI (one process each)", cli);
        double svc_tp = throughput(8, par, [&] {
            thread_local int cfd = -1;
            if (cfd < 0) cfd = connect_unix(sock);
            return post(cfd, c.body);
        });
        double cli_tp = throughput(8, std::max(1, par / 4), [&] { return run_cli(c.cli) == 0; });
        std::printf("  throughput, 8 clients: microvmd %.0f/s, CLI %.0f/s\n", svc_tp, cli_tp);
    }
    ::kill(daemon, SIGTERM);
    waitpid(daemon, nullptr, 0);
    std::system(("rm -rf " + dir).c_str());
    return 0;
}
