#include "host/child_process.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <iterator>
#include <utility>

#include "host/fd_wait.hpp"
#include "host/init_reaper.hpp"
#include "host/pidfd.hpp"
#include "host/sys_error.hpp"

namespace microvm::host {
namespace {

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

// What failed in the child before exec, sent through a close-on-exec pipe (EOF: exec worked).
struct SpawnFailure {
    int step;
    int err;
};
// How long ChildProcess::kill waits for an init of its own to end its program (it takes
// microseconds) before it kills the init.
constexpr int kInitGrace = 1000;  // ms

constexpr const char* kSteps[] = {"setting PR_SET_PDEATHSIG (or the host died)",
                                  "joining the cgroup", "placing stdio", "exec",
                                  "forking inside its pid namespace"};

[[noreturn]] void child_failed(int report_fd, int step) {
    SpawnFailure f{step, errno};
    ssize_t ignored = ::write(report_fd, &f, sizeof f);
    (void)ignored;
    ::_exit(127);
}

// The program's process, for the init's SIGTERM handler.
volatile sig_atomic_t init_program = 0;

void end_program(int) {
    if (init_program > 0) ::kill(init_program, SIGKILL);
}

// Pid 1 of the child's own pid namespace (SpawnRequest::dies_with_host_whatever_its_uid): forks
// the program's process, which returns to exec it, and reaps until that one is gone; then exits
// as it did, which ends every other process of the namespace. Its death signal, set with root's
// credentials that it never changes, holds. The host ends it with SIGTERM (ChildProcess::kill),
// on which it kills the program and reaps it first: killed itself, it would take the program's
// CPU time and memory peak with it (the kernel reaps what a dying namespace leaves, unaccounted).
void supervise_as_init(int report_fd) {
    // No handler of the host's in a process that never execs: each to its default, but SIGTERM.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
    }
    sigset_t term, none;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigemptyset(&none);
    ::sigprocmask(SIG_BLOCK, &term, nullptr);  // until the program's pid is known
    struct sigaction on_term {};
    on_term.sa_handler = end_program;
    ::sigaction(SIGTERM, &on_term, nullptr);
    // clone(SIGCHLD), as fork: the generic system call table (aarch64) has no fork.
    const pid_t program = static_cast<pid_t>(::syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
    if (program < 0) child_failed(report_fd, 4);
    if (program == 0) {
        ::sigaction(SIGTERM, &dfl, nullptr);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) child_failed(report_fd, 0);
        return;  // to exec; the report pipe closes on it
    }
    init_program = program;
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::close(report_fd);  // the host reads EOF once the program's exec closed its copy
    const int status = reap_until(program);
    kill_and_reap_namespace();
    ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

// Child side, between clone and exec: async-signal-safe calls only.
[[noreturn]] void exec_child(pid_t parent, const SpawnRequest& r, char* const* argv,
                             char* const* envp, int report_fd) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, nullptr);
    // Dies with the host; if the host already died, its pid is no longer our parent (from a new
    // pid namespace, where the parent has no pid, that no one reads the report pipe: below,
    // once this process's own copy of its reading end is closed).
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) child_failed(report_fd, 0);
    if (!r.dies_with_host_whatever_its_uid && static_cast<pid_t>(::syscall(SYS_getppid)) != parent) {
        child_failed(report_fd, 0);
    }
    // "0" moves just the writer, without the host migrating us by pid.
    for (int fd : r.cgroup_join_fds) {
        if (::write(fd, "0", 1) != 1) child_failed(report_fd, 1);
    }
    // The report pipe must survive the dup2s onto 0-2 and the close_range: move it up first.
    int report = ::fcntl(report_fd, F_DUPFD_CLOEXEC, 3 + 3);
    if (report < 0) child_failed(report_fd, 2);
    const int from[3] = {r.stdin_fd, r.stdout_fd, r.stderr_fd};
    for (int target = 0; target < 3; ++target) {
        if (from[target] == target) {
            if (::fcntl(target, F_SETFD, 0) != 0) child_failed(report, 2);
        } else if (::dup2(from[target], target) != target) {
            child_failed(report, 2);
        }
    }
    ::syscall(SYS_close_range, 3u, static_cast<unsigned>(report - 1), 0u);
    ::syscall(SYS_close_range, static_cast<unsigned>(report + 1), ~0u, 0u);
    if (r.dies_with_host_whatever_its_uid) {
        pollfd report_end{report, 0, 0};
        if (::poll(&report_end, 1, 0) != 0) child_failed(report, 0);  // POLLERR: no reader left
        supervise_as_init(report);
    }
    ::execve(r.program.c_str(), argv, envp);
    child_failed(report, 3);
}

}  // namespace

Expected<ChildProcess> ChildProcess::spawn(const SpawnRequest& request) {
    // Descriptors 0-2 would be overwritten by the dup2s before they are used: move them up.
    SpawnRequest r = request;
    host::UniqueFd moved[3];
    host::UniqueFd dev_null;
    int* fds[3] = {&r.stdin_fd, &r.stdout_fd, &r.stderr_fd};
    for (int i = 0; i < 3; ++i) {
        if (*fds[i] == kDevNull) {
            if (!dev_null.valid()) dev_null.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
            if (!dev_null.valid()) return host::sys_failure("open /dev/null for " + r.program, errno);
            *fds[i] = dev_null.get();
        }
        if (*fds[i] < 0) return fail(Failure::Kind::SetupError, "spawn: missing stdio descriptor");
        if (*fds[i] <= 2) {
            moved[i].reset(::fcntl(*fds[i], F_DUPFD_CLOEXEC, 3));
            if (!moved[i].valid()) return host::sys_failure("fcntl(F_DUPFD_CLOEXEC)", errno);
            *fds[i] = moved[i].get();
        }
    }
    std::vector<char*> argv = c_strings(r.argv);
    std::vector<char*> envp = c_strings(r.env);
    const pid_t parent = ::getpid();
    RTFS_TRY(host::Pipe report, host::make_pipe());

    int pidfd = -1;
    struct clone_args args {};
    args.flags = CLONE_PIDFD;
    args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
    args.exit_signal = SIGCHLD;
    if (r.own_network_namespace) args.flags |= CLONE_NEWNET;
    if (r.dies_with_host_whatever_its_uid) args.flags |= CLONE_NEWPID;
    if (r.cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = static_cast<uint64_t>(r.cgroup_fd);
    }
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) return host::sys_failure("clone3", errno);
    if (pid == 0) exec_child(parent, r, argv.data(), envp.data(), report.write.get());

    ChildProcess child;
    child.pid_ = static_cast<pid_t>(pid);
    child.pidfd_.reset(pidfd);
    child.supervised_ = r.dies_with_host_whatever_its_uid;
    report.write.reset();
    SpawnFailure failure{};
    ssize_t n;
    while ((n = ::read(report.read.get(), &failure, sizeof failure)) < 0 && errno == EINTR) {
    }
    if (n == static_cast<ssize_t>(sizeof failure)) {
        child.wait();
        const int step = failure.step >= 0 && failure.step < static_cast<int>(std::size(kSteps)) ? failure.step : 3;
        return host::sys_failure("starting " + r.program + ": " + kSteps[step], failure.err);
    }
    return child;
}

ChildProcess ChildProcess::adopt(pid_t pid) { return adopt(pid, open_pidfd(pid)); }

ChildProcess ChildProcess::adopt(pid_t pid, UniqueFd pidfd) {
    ChildProcess child;
    child.pid_ = pid;
    child.pidfd_ = std::move(pidfd);
    return child;
}

std::chrono::nanoseconds cpu_time_of(const struct rusage& usage) {
    auto of = [](const timeval& tv) { return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec); };
    return of(usage.ru_utime) + of(usage.ru_stime);
}

std::string describe_wait_status(int wait_status) {
    if (WIFSIGNALED(wait_status)) return "was killed by signal " + std::to_string(WTERMSIG(wait_status));
    return "exited with code " + std::to_string(WEXITSTATUS(wait_status));
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), pidfd_(std::move(other.pidfd_)), supervised_(other.supervised_) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
    if (this != &other) {
        if (running()) {
            kill();
            wait();
        }
        pid_ = std::exchange(other.pid_, -1);
        pidfd_ = std::move(other.pidfd_);
        supervised_ = other.supervised_;
    }
    return *this;
}

ChildProcess::~ChildProcess() {
    if (running()) {
        kill();
        wait();
    }
}

void ChildProcess::kill() const {
    // Read once: never a pid of 0 or -1 (every process) should the child be reaped meanwhile
    // (the class is not for use from several threads at once; the grace below made the window
    // wide).
    const pid_t pid = pid_;
    const int pidfd = pidfd_.get();
    if (pid <= 0) return;
    auto send = [pid, pidfd](int sig) {
        if (pidfd >= 0 && ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) == 0) return;
        ::kill(pid, sig);
    };
    // An init of its own ends the program and reaps it first, keeping its usage (see
    // supervise_as_init); SIGKILL after a grace, should it not have its handler yet.
    if (supervised_ && pidfd >= 0) {
        send(SIGTERM);
        const auto by = std::chrono::steady_clock::now() + std::chrono::milliseconds(kInitGrace);
        if (wait_fd(pidfd, POLLIN, by) == FdWait::Ready) return;
    }
    send(SIGKILL);
}

std::optional<ChildExit> ChildProcess::try_wait() {
    if (!running()) return std::nullopt;
    ChildExit exit;
    pid_t got = ::wait4(pid_, &exit.wait_status, WNOHANG, &exit.usage);
    if (got != pid_) return std::nullopt;
    pid_ = -1;
    pidfd_.reset();
    return exit;
}

ChildExit ChildProcess::wait() {
    ChildExit exit;
    if (!running()) return exit;
    while (::wait4(pid_, &exit.wait_status, 0, &exit.usage) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    pidfd_.reset();
    return exit;
}

}  // namespace microvm::host
