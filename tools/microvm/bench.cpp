#include "bench.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "bench_report.hpp"
#include "bench_rows.hpp"
#include "host/boot_cache.hpp"
#include "host/paths.hpp"
#include "host/pidfd.hpp"
#include "host/unique_fd.hpp"
#include "microvm/built_programs.hpp"
#include "microvm/factory.hpp"
#include "microvm/json_output.hpp"

extern char** environ;

namespace microvm::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct RunOutcome {
    double ms = 0;
    double cpu_ms = 0;  // user + system time of the process and its reaped children
    int status = -1;  // wait status; -1: could not start
};

// Reads and discards what the process writes on fd until it exits (its pidfd is readable): not
// until the pipe's end, which a background child of a peer could hold open for ever.
void discard_output_until_exit(pid_t pid, int fd) {
    char discard[4096];
    host::UniqueFd pidfd = host::open_pidfd(pid);
    if (!pidfd.valid() || !host::set_nonblocking(fd)) {  // no pidfd (Linux before 5.3): to the end
        for (ssize_t n; (n = ::read(fd, discard, sizeof discard)) != 0;) {
            if (n < 0 && errno != EINTR) return;
        }
        return;
    }
    struct pollfd fds[2] = {{pidfd.get(), POLLIN, 0}, {fd, POLLIN, 0}};
    for (;;) {
        if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
        if (fds[1].revents) {
            ssize_t n;
            while ((n = ::read(fd, discard, sizeof discard)) > 0) {
            }
            if (n == 0) fds[1].fd = -1;  // every writer closed it: only the exit is left
        }
        if (fds[0].revents & POLLIN) return;
    }
}

// Runs argv as a whole process and times it from spawn to reaping. Its stdio are pipes: stdin an
// empty one, stdout and stderr one read and discarded until it exits. Never /dev/null: `runsc do`
// hands a container's stdio to the sandbox user (fchown), and with the host's /dev/null as a
// peer's stdout a bench run as root left /dev/null owned by nobody (2026-12-05).
RunOutcome run_once(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    auto in = host::make_pipe();
    auto output = host::make_pipe();
    if (!in || !output) return {};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in->read.get(), 0);
    posix_spawn_file_actions_adddup2(&actions, output->write.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, output->write.get(), 2);
    RunOutcome out;
    const auto start = Clock::now();
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    in->read.reset();
    in->write.reset();
    output->write.reset();
    if (rc != 0) return out;
    discard_output_until_exit(pid, output->read.get());
    int status = 0;
    struct rusage ru {};
    while (::wait4(pid, &status, 0, &ru) < 0) {
    }
    out.ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    out.status = status;
    auto ms_of = [](const timeval& t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; };
    out.cpu_ms = ms_of(ru.ru_utime) + ms_of(ru.ru_stime);
    return out;
}

bool succeeded(const RunOutcome& o) {
    return o.status >= 0 && WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0;
}

// The least CPU time (ms) of a few runs, or -1 when one fails. CPU time rather than wall time:
// it does not grow when other processes load the machine.
double least_cpu(const std::vector<std::string>& argv, int tries) {
    double best = -1;
    for (int i = 0; i < tries; ++i) {
        RunOutcome o = run_once(argv);
        if (!succeeded(o)) return -1;
        best = best < 0 ? o.cpu_ms : std::min(best, o.cpu_ms);
    }
    return best;
}

// Iterations of a loop that take about target_ms of CPU on this machine: n0 of them against the
// same process doing nothing, scaled.
long calibrate(const std::vector<std::string>& base, const std::vector<std::string>& loop_of_n0,
               long n0, double target_ms) {
    const double idle = least_cpu(base, 3);
    const double busy = least_cpu(loop_of_n0, 3);
    if (idle < 0 || busy < 0 || busy - idle < 5) return n0;
    return std::max(100L, static_cast<long>(static_cast<double>(n0) * target_ms / (busy - idle)));
}

std::string self_path() {
    const std::string self = own_executable();
    return self.empty() ? "microvm" : self;
}

std::string describe_status(int status) {
    if (status < 0) return "could not start";
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "exit " + std::to_string(WEXITSTATUS(status));
}

nlohmann::json machine_facts(const BenchWorkloads& w, int runs, double compute_ms) {
    struct utsname u {};
    ::uname(&u);
    return {{"kernel", std::string(u.release)},
            {"cpus", ::sysconf(_SC_NPROCESSORS_ONLN)},
            {"runs", runs},
            {"compute_ms", compute_ms},
            {"rtfs_compute_iterations", w.compute_iterations},
            {"python_compute_iterations", w.python_iterations}};
}

}  // namespace

int cmd_bench(const BenchOptions& opt) {
    if (opt.runs < 1 || !(opt.compute_ms > 0)) {
        std::fprintf(stderr, "error: usage: --runs must be at least 1 and --compute-ms positive\n");
        return kExitUsage;
    }
    std::vector<ProviderSummary> providers;
    {
        ProviderFactory factory;
        for (const auto& info : factory.list_providers()) {
            const bool wanted = opt.providers.empty() ||
                                std::find(opt.providers.begin(), opt.providers.end(), info.name) !=
                                    opt.providers.end();
            if (!wanted) continue;
            if (!info.availability.available) {
                if (!opt.providers.empty() || !opt.json)
                    std::fprintf(stderr, "microvm bench: skipping provider %s: %s\n",
                                 info.name.c_str(), info.availability.reason.c_str());
                continue;
            }
            auto has = [&](ProgramKind k) {
                return std::find(info.runs.begin(), info.runs.end(), k) != info.runs.end();
            };
            providers.push_back({info.name, has(ProgramKind::External), has(ProgramKind::Rtfs),
                                 has(ProgramKind::Wasm)});
        }
    }
    for (const std::string& name : opt.providers) {
        if (std::none_of(providers.begin(), providers.end(),
                         [&](const ProviderSummary& p) { return p.name == name; })) {
            std::fprintf(stderr, "error: provider %s is unknown or unavailable\n", name.c_str());
            return kExitSetup;
        }
    }

    BenchWorkloads w;
    w.self = self_path();
    w.compute_ms = opt.compute_ms;
    // A compute run longer than the row budget (RTFS interpreted by the wasm engine) is stopped
    // by its own time limit and counted as failed rather than holding the benchmark up.
    w.run_limit = std::to_string(static_cast<long>(std::max(1.0, opt.row_budget_s))) + "s";
    char tmpl[] = "/tmp/microvm-bench-XXXXXX";
    if (!::mkdtemp(tmpl)) {
        std::perror("microvm bench: mkdtemp");
        return kExitSetup;
    }
    w.work_dir = tmpl;
    std::ofstream(w.work_dir + "/empty.wat") << "(module (func (export \"_start\")))\n";
    // The system's python3 first: a version manager's shim on PATH (pyenv's is a bash script)
    // would time the shim.
    const char* path = std::getenv("PATH");
    std::vector<std::string> dirs = {"/usr/bin", "/bin", "/usr/local/bin"};
    for (const std::string& d : host::path_dirs(path ? path : "")) dirs.push_back(d);
    w.python3 = host::find_in_dirs("python3", dirs);
    // The compute job takes ~100 ms when evaluated natively in this process (the mock provider),
    // and its python3 twin ~100 ms in plain python3.
    constexpr long kRtfsN0 = 200000, kPythonN0 = 1000000;
    w.compute_iterations =
        calibrate({w.self, "eval", "-p", "mock", "nil"},
                  {w.self, "eval", "-p", "mock", rtfs_compute_source(kRtfsN0)}, kRtfsN0, opt.compute_ms);
    w.python_iterations =
        w.python3.empty()
            ? 0
            : calibrate({w.python3, "-c", "pass"},
                        {w.python3, "-c", python_compute_source(kPythonN0)}, kPythonN0,
                        opt.compute_ms);

    std::vector<BenchRow> rows = bench_rows(providers, opt.peers, w);
    std::vector<double> spent(rows.size(), 0);
    // One unrecorded warm-up run of each (page cache, probe records), then the rounds: every row
    // once per round, starting at a different row each round.
    for (size_t i = 0; i < rows.size(); ++i) {
        RunOutcome o = run_once(rows[i].argv);
        if (!succeeded(o)) rows[i].note += (rows[i].note.empty() ? "" : "; ") +
                                           std::string("warm-up: ") + describe_status(o.status);
    }
    for (int round = 0; round < opt.runs; ++round) {
        for (size_t k = 0; k < rows.size(); ++k) {
            const size_t i = (k + static_cast<size_t>(round)) % rows.size();
            if (spent[i] > opt.row_budget_s * 1000) continue;
            RunOutcome o = run_once(rows[i].argv);
            spent[i] += o.ms;
            if (succeeded(o)) {
                rows[i].samples_ms.push_back(o.ms);
            } else {
                ++rows[i].failures;
            }
        }
    }
    for (size_t i = 0; i < rows.size(); ++i) {
        if (static_cast<int>(rows[i].samples_ms.size()) + rows[i].failures < opt.runs)
            rows[i].note += (rows[i].note.empty() ? "" : "; ") +
                            std::string("stopped at the row budget");
    }
    ::unlink((w.work_dir + "/empty.wat").c_str());
    ::rmdir(w.work_dir.c_str());

    if (!opt.svg_file.empty()) {
        // Replaced, never written through: a symlink planted at the name (a shared /tmp) would
        // otherwise truncate whatever it points to, root's files too.
        if (!host::write_file_atomically(
                opt.svg_file, bench_svg(rows, "microvm bench: one-shot latency on this machine"), 0644)) {
            std::fprintf(stderr, "error: cannot write %s\n", opt.svg_file.c_str());
            return kExitSetup;
        }
    }
    if (opt.json) {
        std::cout << bench_json(rows, machine_facts(w, opt.runs, opt.compute_ms)).dump(2) << "\n";
    } else {
        std::cout << bench_table(rows);
    }
    return 0;
}

}  // namespace microvm::cli
