// Runs an external program through the process provider from the command line, for the
// benchmarks (and for poking at the sandbox by hand):
//   process_run [--fs none|ro|ro=P|rw=P|full] [--net deny|full|allow=..|block=..] [--memory MIB] [--cpu F]
//               [--timeout 30s] [--env K=V]... [--repeat N] [--clients N] [--stats] [--quiet]
//               -- PROGRAM [ARGS...]
// --clients N runs N threads, each executing the program --repeat times through one provider;
// --stats prints executions per second and latency percentiles. --versus-net POLICY (one
// client): --repeat pairs, each run under --net then under POLICY back to back, and the medians
// of each and of the pairs' differences (what POLICY costs more, drift of the machine's load
// cancelled). --ahead: each execution runs in a sandbox built ahead for it (Provider::prepare,
// as a warm pool's, not timed), so latencies are from the launch to the result. Exits with the last program's
// exit code (125 when the sandbox could not run it).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "process/process_provider.hpp"

namespace {

using Clock = std::chrono::steady_clock;

int usage() {
    std::fprintf(stderr,
                 "usage: process_run [--fs POLICY] [--net POLICY] [--memory MIB] [--cpu F] "
                 "[--timeout D] [--env K=V]... [--repeat N] [--clients N] [--versus-net POLICY] "
                 "[--ahead] [--stats] [--quiet] -- PROGRAM [ARGS...]\n");
    return 64;
}

int exit_code_of(const microvm::ExecutionResult& r) {
    switch (r.status) {
        case microvm::Status::SetupError:
        case microvm::Status::Unavailable:
        case microvm::Status::InvalidInput:
        case microvm::Status::PolicyViolation:
            return 125;
        default:
            return r.metadata.exit_code.value_or(125);
    }
}

void print_result(const microvm::ExecutionResult& r) {
    std::fwrite(r.metadata.stdout_data.data(), 1, r.metadata.stdout_data.size(), stdout);
    std::fwrite(r.metadata.stderr_data.data(), 1, r.metadata.stderr_data.size(), stderr);
    std::fprintf(stderr, "[%s] exit=%d signal=%d wall=%.2fms cpu=%.2fms peak=%.2fMiB%s%s\n",
                 microvm::to_string(r.status), r.metadata.exit_code.value_or(-1),
                 r.metadata.signal.value_or(0), r.metadata.duration.count() / 1e6,
                 r.metadata.cpu_time ? r.metadata.cpu_time->count() / 1e6 : -1.0,
                 r.metadata.memory_peak_mb.value_or(-1.0), r.error ? " error: " : "",
                 r.error ? (r.error->kind + ": " + r.error->message).c_str() : "");
}

}  // namespace

int main(int argc, char** argv) {
    microvm::ExecutionContext ctx;
    microvm::ExternalProgram program;
    bool quiet = false, stats = false, ahead = false;
    int repeat = 1, clients = 1;
    std::optional<microvm::NetworkPolicy> versus;
    int i = 1;
    for (; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--") {
            ++i;
            break;
        }
        if (a == "--quiet") {
            quiet = true;
            continue;
        }
        if (a == "--stats") {
            stats = true;
            continue;
        }
        if (a == "--ahead") {
            ahead = true;
            continue;
        }
        if (i + 1 >= argc) return usage();
        const char* v = argv[++i];
        if (a == "--fs") {
            auto p = microvm::FileSystemPolicy::parse(v);
            if (!p) return std::fprintf(stderr, "%s\n", p.error().message.c_str()), 64;
            ctx.config.fs_policy = *p;
        } else if (a == "--net") {
            auto p = microvm::NetworkPolicy::parse(v);
            if (!p) return std::fprintf(stderr, "%s\n", p.error().message.c_str()), 64;
            ctx.config.network_policy = *p;
        } else if (a == "--versus-net") {
            auto p = microvm::NetworkPolicy::parse(v);
            if (!p) return std::fprintf(stderr, "%s\n", p.error().message.c_str()), 64;
            versus = *p;
        } else if (a == "--timeout") {
            auto d = microvm::parse_duration(v);
            if (!d) return std::fprintf(stderr, "%s\n", d.error().message.c_str()), 64;
            ctx.config.timeout = *d;
        } else if (a == "--memory") {
            ctx.config.memory_limit_mb = std::strtoull(v, nullptr, 10);
        } else if (a == "--cpu") {
            ctx.config.cpu_limit = std::strtod(v, nullptr);
        } else if (a == "--repeat") {
            repeat = std::max(1, std::atoi(v));
        } else if (a == "--clients") {
            clients = std::max(1, std::atoi(v));
        } else if (a == "--env") {
            std::string kv = v;
            auto eq = kv.find('=');
            if (eq == std::string::npos) return usage();
            ctx.config.env_vars[kv.substr(0, eq)] = kv.substr(eq + 1);
        } else {
            return usage();
        }
    }
    if (i >= argc) return usage();
    program.path = argv[i];
    for (++i; i < argc; ++i) program.args.emplace_back(argv[i]);
    ctx.program = program;

    microvm::ProcessProvider provider;
    if (auto ok = provider.initialize(); !ok) {
        std::fprintf(stderr, "error: %s\n", ok.error().message.c_str());
        return 125;
    }

    if (versus) {
        microvm::ExecutionContext other = ctx;
        other.config.network_policy = *versus;
        std::vector<double> a, b, diff;
        auto timed = [&](const microvm::ExecutionContext& c) {
            auto start = Clock::now();
            microvm::ExecutionResult r = provider.execute_program(c);
            if (r.status != microvm::Status::Ok) print_result(r);
            return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        };
        for (int n = 0; n < repeat; ++n) {
            a.push_back(timed(ctx));
            b.push_back(timed(other));
            diff.push_back(b.back() - a.back());
        }
        provider.cleanup();
        auto median = [](std::vector<double> v) {
            std::sort(v.begin(), v.end());
            return v[v.size() / 2];
        };
        std::printf("%d pairs: median %.2f ms (--net %s), %.2f ms (--net %s), median of the "
                    "differences %+.2f ms\n",
                    repeat, median(a), ctx.config.network_policy.to_string().c_str(), median(b),
                    versus->to_string().c_str(), median(diff));
        return 0;
    }

    std::mutex mu;
    std::vector<double> latencies_ms;
    int code = 0;
    auto client = [&] {
        for (int n = 0; n < repeat; ++n) {
            std::unique_ptr<microvm::PreparedSandbox> prepared;
            if (ahead) {
                auto p = provider.prepare(ctx);
                if (!p) {
                    std::fprintf(stderr, "error: %s\n", p.error().message.c_str());
                    std::lock_guard lock(mu);
                    code = 125;
                    return;
                }
                prepared = std::move(*p);
            }
            auto start = Clock::now();
            microvm::ExecutionResult r = prepared ? provider.execute_program(ctx, std::move(prepared))
                                                  : provider.execute_program(ctx);
            double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
            std::lock_guard lock(mu);
            latencies_ms.push_back(ms);
            if (!quiet) print_result(r);
            code = exit_code_of(r);
        }
    };
    auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int c = 1; c < clients; ++c) threads.emplace_back(client);
    client();
    for (auto& t : threads) t.join();
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    provider.cleanup();

    if (stats) {
        std::sort(latencies_ms.begin(), latencies_ms.end());
        auto pct = [&](double p) {
            return latencies_ms[std::min(latencies_ms.size() - 1,
                                         static_cast<size_t>(p * latencies_ms.size()))];
        };
        std::printf(
            "%zu executions, %d clients, %.2f s: %.1f executions/s, latency p50 %.2f ms, "
            "p90 %.2f ms, max %.2f ms\n",
            latencies_ms.size(), clients, seconds, latencies_ms.size() / seconds, pct(0.5),
            pct(0.9), latencies_ms.back());
    }
    return code;
}
