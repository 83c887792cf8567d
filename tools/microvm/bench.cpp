#include "bench.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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
#include "daemon_client.hpp"
#include "bench_rows.hpp"
#include "host/boot_cache.hpp"
#include "host/child_process.hpp"
#include "host/fd_wait.hpp"
#include "host/paths.hpp"
#include "host/pidfd.hpp"
#include "host/remove_tree.hpp"
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
    bool timed_out = false;  // killed at its limit
};

// The process group of the run in progress (0: none). Each run has a group of its own, out of
// the terminal's foreground group: a Ctrl-C reaches only this process, whose handler ends the
// run's group too before it dies of the signal.
volatile sig_atomic_t running_group = 0;
// The private directory and its one file, removed by the handler too (unlink and rmdir are
// async-signal-safe; what a run left there as its TMPDIR stays); set before the handler is
// installed.
char work_file[64] = "", work_dir[64] = "";

void end_running_group_and_die(int sig) {
    if (running_group > 0) ::kill(-running_group, SIGKILL);
    if (work_file[0]) ::unlink(work_file);
    if (work_dir[0]) ::rmdir(work_dir);
    ::signal(sig, SIG_DFL);
    ::raise(sig);
}

constexpr int kEndingSignals[] = {SIGINT, SIGTERM, SIGHUP};

void kill_runs_with_this_process() {
    for (int sig : kEndingSignals) ::signal(sig, end_running_group_and_die);
}

// A calibration run's limit: one far above what a run of it should take.
constexpr std::chrono::seconds kCalibrationLimit{60};

// Reads and discards what the process writes on fd until it exits (its pidfd is readable): not
// until the pipe's end, which a background child of a peer could hold open for ever. False when
// the deadline came first.
bool discard_output_until_exit(int pidfd, int fd, Clock::time_point deadline) {
    char discard[4096];
    if (pidfd < 0 || !host::set_nonblocking(fd)) {  // no pidfd (Linux before 5.3): to the end
        for (ssize_t n; (n = ::read(fd, discard, sizeof discard)) != 0;) {
            if (n < 0 && errno != EINTR) return true;
        }
        return true;
    }
    struct pollfd fds[2] = {{pidfd, POLLIN, 0}, {fd, POLLIN, 0}};
    for (;;) {
        const int ms = host::poll_timeout_ms(deadline);
        if (ms == 0) return false;
        if (::poll(fds, 2, ms) < 0 && errno != EINTR) return true;
        if (fds[1].revents) {
            ssize_t n;
            while ((n = ::read(fd, discard, sizeof discard)) > 0) {
            }
            if (n == 0) fds[1].fd = -1;  // every writer closed it: only the exit is left
        }
        if (fds[0].revents & POLLIN) return true;
    }
}

// The environment of a run: this process's, with TMPDIR in the benchmark's private directory
// (a peer killed at its limit, `runsc do` among them, leaves its temporary files there, removed
// with it), and without $MICROVM_DAEMON: a provider's row is its local run (set in the shell,
// it sent the rows to a daemon under the local provider's name); --daemon-rows says so.
std::vector<std::string> run_environment(const std::string& tmpdir) {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
        const std::string_view entry(*e);
        if (!entry.starts_with("TMPDIR=") && !entry.starts_with("MICROVM_DAEMON=")) env.emplace_back(*e);
    }
    env.push_back("TMPDIR=" + tmpdir);
    return env;
}

// Runs argv as a whole process and times it from spawn to reaping. Its stdio are pipes: stdin
// an empty one, stdout and stderr one read and discarded until it exits. Never /dev/null: `runsc
// do` hands a container's stdio to the sandbox user (fchown), and with the host's /dev/null as a
// peer's stdout a bench run as root left /dev/null owned by nobody (2026-12-05). posix_spawn
// (vfork-like: a fork of this process would be timed with every row, ~1.3 ms, a review), with
// descriptors 0-2 only (a tty or log the caller held open reached the peers, runsc among them)
// and a process group of its own, killed whole when the run ends (what it left running in the
// background would load the next rows) and at `limit` (a peer that hung held the benchmark for
// ever: red team, 2026-12-06), which then counts as failed. A run does not die with a benchmark
// killed outright (SIGKILL): posix_spawn sets no death signal.
RunOutcome run_once(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                    std::chrono::milliseconds limit) {
    std::vector<char*> args, envp;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    auto in = host::make_pipe();
    auto output = host::make_pipe();
    if (!in || !output) return {};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in->read.get(), 0);
    posix_spawn_file_actions_adddup2(&actions, output->write.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, output->write.get(), 2);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    // The signals that end the benchmark are held until the run's group is known to the
    // handler; the run starts with none held and their default actions.
    sigset_t ending, held, none;
    sigemptyset(&ending);
    for (int sig : kEndingSignals) sigaddset(&ending, sig);
    sigemptyset(&none);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &ending);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    RunOutcome out;
    ::sigprocmask(SIG_BLOCK, &ending, &held);
    const auto start = Clock::now();
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, args[0], &actions, &attr, args.data(), envp.data());
    if (rc == 0) running_group = pid;
    ::sigprocmask(SIG_SETMASK, &held, nullptr);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    in->read.reset();
    in->write.reset();
    output->write.reset();
    if (rc != 0) return out;
    host::UniqueFd pidfd = host::open_pidfd(pid);
    const bool in_time = discard_output_until_exit(pidfd.get(), output->read.get(), start + limit);
    // The group, while its leader is unreaped (its id cannot be reused), and the leader should
    // it have left the group.
    ::kill(-pid, SIGKILL);
    if (!in_time) ::kill(pid, SIGKILL);
    int status = 0;
    struct rusage ru {};
    while (::wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
    }
    running_group = 0;
    out.ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    out.status = status;
    auto ms_of = [](const timeval& t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; };
    out.cpu_ms = ms_of(ru.ru_utime) + ms_of(ru.ru_stime);
    out.timed_out = !in_time;
    return out;
}

bool succeeded(const RunOutcome& o) {
    return !o.timed_out && o.status >= 0 && WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0;
}

// The least CPU time (ms) of a few runs, or -1 when one fails. CPU time rather than wall time:
// it does not grow when other processes load the machine.
double least_cpu(const std::vector<std::string>& argv, const std::vector<std::string>& env, int tries) {
    double best = -1;
    for (int i = 0; i < tries; ++i) {
        RunOutcome o = run_once(argv, env, kCalibrationLimit);
        if (!succeeded(o)) return -1;
        best = best < 0 ? o.cpu_ms : std::min(best, o.cpu_ms);
    }
    return best;
}

// Iterations of a loop that take about target_ms of CPU on this machine: n0 of them against the
// same process doing nothing, scaled.
long calibrate(const std::vector<std::string>& base, const std::vector<std::string>& loop_of_n0,
               const std::vector<std::string>& env, long n0, double target_ms) {
    const double idle = least_cpu(base, env, 3);
    const double busy = least_cpu(loop_of_n0, env, 3);
    if (idle < 0 || busy < 0 || busy - idle < 5) return n0;
    return std::max(100L, static_cast<long>(static_cast<double>(n0) * target_ms / (busy - idle)));
}

std::string self_path() {
    const std::string self = own_executable();
    return self.empty() ? "microvm" : self;
}

std::string describe_status(const RunOutcome& o) {
    const int status = o.status;
    if (o.timed_out) return "killed at the row budget";
    if (status < 0) return "could not start";
    return host::describe_wait_status(status);
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
    // Bounded: a huge --row-budget became a negative --timeout through an unchecked conversion,
    // and a huge --compute-ms a job of hours that no budget stopped (red team, 2026-12-06).
    if (opt.runs < 1 || opt.runs > kMaxBenchRuns || !(opt.compute_ms > 0 && opt.compute_ms <= kMaxComputeMs) ||
        !(opt.row_budget_s >= 1 && opt.row_budget_s <= kMaxRowBudgetS)) {
        std::fprintf(stderr,
                     "error: usage: --runs must be 1 to %d, --compute-ms above 0 and at most %g, --row-budget 1 to %g s\n",
                     kMaxBenchRuns, kMaxComputeMs, kMaxRowBudgetS);
        return kExitUsage;
    }
    if (!opt.daemon.empty()) {
        if (auto address = parse_daemon_address(opt.daemon); !address) {
            std::fprintf(stderr, "error: usage: --daemon-rows: %s\n", address.error().message.c_str());
            return kExitUsage;
        }
    }
    const auto run_limit = std::chrono::milliseconds(static_cast<long>(opt.row_budget_s * 1000));
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
    w.daemon = opt.daemon;
    w.compute_ms = opt.compute_ms;
    // A compute run longer than the row budget (RTFS interpreted by the wasm engine) is stopped
    // by its own time limit and counted as failed rather than holding the benchmark up.
    w.run_limit = std::to_string(static_cast<long>(opt.row_budget_s)) + "s";
    char tmpl[] = "/tmp/microvm-bench-XXXXXX";
    if (!::mkdtemp(tmpl)) {
        std::perror("microvm bench: mkdtemp");
        return kExitSetup;
    }
    w.work_dir = tmpl;
    std::snprintf(work_dir, sizeof work_dir, "%s", tmpl);
    std::snprintf(work_file, sizeof work_file, "%s/empty.wat", tmpl);
    kill_runs_with_this_process();
    std::ofstream(work_file) << "(module (func (export \"_start\")))\n";
    const std::vector<std::string> env = run_environment(w.work_dir);
    w.python3 = find_peer("python3");
    // The compute job takes ~100 ms when evaluated natively in this process (the mock provider),
    // and its python3 twin ~100 ms in plain python3.
    constexpr long kRtfsN0 = 200000, kPythonN0 = 1000000;
    w.compute_iterations =
        calibrate({w.self, "eval", "-p", "mock", "nil"},
                  {w.self, "eval", "-p", "mock", rtfs_compute_source(kRtfsN0)}, env, kRtfsN0, opt.compute_ms);
    w.python_iterations =
        w.python3.empty()
            ? 0
            : calibrate({w.python3, "-c", "pass"},
                        {w.python3, "-c", python_compute_source(kPythonN0)}, env, kPythonN0,
                        opt.compute_ms);

    std::vector<BenchRow> rows = bench_rows(providers, opt.peers, w);
    std::vector<double> spent(rows.size(), 0);
    // One unrecorded warm-up run of each (page cache, probe records), then the rounds: every row
    // once per round, starting at a different row each round.
    for (size_t i = 0; i < rows.size(); ++i) {
        RunOutcome o = run_once(rows[i].argv, env, run_limit);
        if (!succeeded(o)) rows[i].note += (rows[i].note.empty() ? "" : "; ") +
                                           std::string("warm-up: ") + describe_status(o);
    }
    for (int round = 0; round < opt.runs; ++round) {
        for (size_t k = 0; k < rows.size(); ++k) {
            const size_t i = (k + static_cast<size_t>(round)) % rows.size();
            if (spent[i] > opt.row_budget_s * 1000) continue;
            RunOutcome o = run_once(rows[i].argv, env, run_limit);
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
    host::remove_tree(w.work_dir);  // with what the runs left in it as their TMPDIR

    if (opt.json) {
        std::cout << json_text(bench_json(rows, machine_facts(w, opt.runs, opt.compute_ms)), 2) << "\n";
    } else {
        std::cout << bench_table(rows);
    }
    std::cout.flush();
    // After the results are out: a chart that cannot be written does not lose them.
    if (!opt.svg_file.empty()) {
        // Replaced, never written through: a symlink planted at the name (a shared /tmp) would
        // otherwise truncate whatever it points to, root's files too.
        if (!host::write_file_atomically(
                opt.svg_file, bench_svg(rows, "microvm bench: one-shot latency on this machine"), 0644)) {
            std::fprintf(stderr, "error: cannot write %s\n", opt.svg_file.c_str());
            return kExitSetup;
        }
    }
    return 0;
}

}  // namespace microvm::cli
