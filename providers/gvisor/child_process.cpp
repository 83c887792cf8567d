#include "gvisor/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "process/sys_error.hpp"

namespace microvm::gvisor {
namespace {

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

// Child side, between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_child(pid_t parent, const SpawnRequest& r, char* const* argv,
                             char* const* envp) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, nullptr);
    // Dies with the host; if the host already died, its pid is no longer our parent.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || ::getppid() != parent) ::_exit(127);
    const int from[3] = {r.stdin_fd, r.stdout_fd, r.stderr_fd};
    for (int target = 0; target < 3; ++target) {
        if (from[target] == target) {
            if (::fcntl(target, F_SETFD, 0) != 0) ::_exit(127);
        } else if (::dup2(from[target], target) != target) {
            ::_exit(127);
        }
    }
    ::syscall(SYS_close_range, 3u, ~0u, 0u);
    ::execve(r.program.c_str(), argv, envp);
    ::_exit(127);
}

}  // namespace

Expected<ChildProcess> ChildProcess::spawn(const SpawnRequest& request) {
    // Descriptors 0-2 would be overwritten by the dup2s before they are used: move them up.
    SpawnRequest r = request;
    process::UniqueFd moved[3];
    int* fds[3] = {&r.stdin_fd, &r.stdout_fd, &r.stderr_fd};
    for (int i = 0; i < 3; ++i) {
        if (*fds[i] < 0) return fail(Failure::Kind::SetupError, "spawn: missing stdio descriptor");
        if (*fds[i] <= 2) {
            moved[i].reset(::fcntl(*fds[i], F_DUPFD_CLOEXEC, 3));
            if (!moved[i].valid()) return process::sys_failure("fcntl(F_DUPFD_CLOEXEC)", errno);
            *fds[i] = moved[i].get();
        }
    }
    std::vector<char*> argv = c_strings(r.argv);
    std::vector<char*> envp = c_strings(r.env);
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) return process::sys_failure("fork", errno);
    if (pid == 0) exec_child(parent, r, argv.data(), envp.data());

    ChildProcess child;
    child.pid_ = pid;
    child.pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!child.pidfd_.valid()) {
        int err = errno;
        child.kill();
        child.wait();
        return process::sys_failure("pidfd_open", err);
    }
    return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), pidfd_(std::move(other.pidfd_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
    if (this != &other) {
        if (running()) {
            kill();
            wait();
        }
        pid_ = std::exchange(other.pid_, -1);
        pidfd_ = std::move(other.pidfd_);
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
    if (!running()) return;
    if (pidfd_.valid() && ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0) == 0) {
        return;
    }
    ::kill(pid_, SIGKILL);
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

}  // namespace microvm::gvisor
