// A pooled gvisor execution against `runsc do`: in each of --runs rounds, one
// `runsc --platform=P --network=none do /bin/true` (P: the provider's platform) and one
// execution of /bin/true through GvisorProvider in a sandbox built ahead (prepare() untimed, as
// a warm pool does it in the background; timed: execute_program(ctx, prepared), the claim, the
// launch, the program, the teardown), alternating which goes first, so that both see the same
// load. Prints the medians and p90 of both (as the caller saw them) and their ratio.
//
//   gvisor_prepared_launch [--runs N]      (default 30)
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "gvisor/gvisor_provider.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

double ms(Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// runsc do, stdin an empty file and stdout/stderr a pipe (never /dev/null, whose owner runsc
// would change); its wall time, or a negative value when it failed.
double time_runsc_do(const std::string& runsc, const std::string& platform) {
    char empty[] = "/tmp/gvisor-bench-empty-XXXXXX";
    const int in = ::mkstemp(empty);
    int out[2];
    if (in < 0 || ::pipe(out) != 0) return -1;
    ::unlink(empty);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, out[1], 2);
    std::vector<std::string> args = {runsc, "--platform=" + platform, "--network=none", "do",
                                     "/bin/true"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const auto start = Clock::now();
    pid_t pid = -1;
    const int spawned = ::posix_spawn(&pid, runsc.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    ::close(in);
    int status = -1;
    if (spawned == 0) {
        char buf[4096];
        while (::read(out[0], buf, sizeof buf) > 0) {
        }
        ::waitpid(pid, &status, 0);
    }
    const auto end = Clock::now();
    ::close(out[0]);
    return spawned == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? ms(end - start) : -1;
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 30;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = std::atoi(argv[++i]);
        } else {
            std::fprintf(stderr, "usage: gvisor_prepared_launch [--runs N]\n");
            return 64;
        }
    }
    microvm::GvisorProvider provider;
    if (auto ok = provider.initialize(); !ok) {
        std::fprintf(stderr, "gvisor: %s\n", ok.error().message.c_str());
        return 125;
    }
    const std::string runsc = "/usr/bin/runsc";
    microvm::ExecutionContext ctx;
    ctx.program = microvm::ExternalProgram{"/bin/true", {}};

    std::vector<double> raw, pooled, reported;
    for (int i = 0; i < runs + 2; ++i) {  // the first two rounds warm up
        auto prepared = provider.prepare(ctx);
        if (!prepared) {
            std::fprintf(stderr, "prepare: %s\n", prepared.error().message.c_str());
            return 125;
        }
        double r = 0, p = 0;
        microvm::ExecutionResult result;
        auto run_pooled = [&] {
            const auto start = Clock::now();
            result = provider.execute_program(ctx, std::move(*prepared));
            p = ms(Clock::now() - start);
        };
        if (i % 2 == 0) {
            r = time_runsc_do(runsc, provider.platform());
            run_pooled();
        } else {
            run_pooled();
            r = time_runsc_do(runsc, provider.platform());
        }
        if (r < 0 || !result.ok()) {
            std::fprintf(stderr, "round %d failed (runsc do %s, pooled %s)\n", i,
                         r < 0 ? "failed" : "ok", microvm::to_string(result.status));
            return 1;
        }
        if (i < 2) continue;
        raw.push_back(r);
        pooled.push_back(p);
        reported.push_back(result.metadata.duration.count() / 1e6);
    }
    const double raw_p50 = percentile(raw, 0.5), pooled_p50 = percentile(pooled, 0.5);
    std::printf("runsc do /bin/true (platform %s): p50 %.1f ms, p90 %.1f ms over %d runs\n",
                provider.platform().c_str(), raw_p50, percentile(raw, 0.9), runs);
    std::printf("pooled execution of /bin/true:   p50 %.1f ms, p90 %.1f ms (reported duration "
                "p50 %.1f ms)\n",
                pooled_p50, percentile(pooled, 0.9), percentile(reported, 0.5));
    std::printf("pooled / runsc do (p50): %.3fx (goal <= 0.2x)\n", pooled_p50 / raw_p50);
    return 0;
}
