#include "exec_run.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "host/paths.hpp"
#include "host/pidfd.hpp"
#include "host/program_command.hpp"
#include "host/unique_fd.hpp"
#include "io.hpp"
#include "microvm/script_languages.hpp"
#include "rtfs/host/big_stack.hpp"
#include "rtfs_eval.hpp"
#include "run_cgroup.hpp"
#include "vm_mode.hpp"

namespace microvm::guest {
namespace {

using Clock = std::chrono::steady_clock;
using agent::FrameType;

// After the program exited its process group is killed; pipes a straggler still holds (one
// that left the group) are read this much longer.
constexpr auto kDrainGrace = std::chrono::milliseconds(500);

using host::open_pidfd;
using host::UniqueFd;

// What to start, or why it cannot start.
struct Plan {
    std::string path;
    std::vector<std::string> argv;
    std::optional<AgentError> refused;
};

Plan refuse(Reason reason, std::string message) {
    Plan p;
    p.refused = AgentError{reason, std::move(message)};
    return p;
}

std::string path_of(const std::vector<std::string>& env) {
    for (const std::string& e : env) {
        if (e.rfind("PATH=", 0) == 0) return e.substr(5);
    }
    return host::kSandboxPath;
}

// An absolute path, or a bare name looked up in the Exec's PATH, checked in the guest as the
// host checks it (host::locate_program).
Plan locate(const std::string& name, const std::vector<std::string>& env, const char* what) {
    auto path = host::locate_program(name, path_of(env), what);
    if (!path) return refuse(host::failure_of(path.error()).reason, path.error().message + " (in the guest)");
    Plan p;
    p.path = std::move(*path);
    return p;
}

Plan plan_for(const Exec& exec) {
    switch (exec.kind) {
        case Exec::Kind::Rtfs: return {};
        case Exec::Kind::Program: {
            Plan p = locate(exec.argv[0], exec.env, "program");
            if (!p.refused) p.argv = exec.argv;
            return p;
        }
        case Exec::Kind::Script: {
            const ScriptInterpreter* interp = script_interpreter(exec.language);
            if (!interp) {
                return refuse(Reason::InvalidProgram,
                              "unknown script language '" + exec.language + "'");
            }
            std::string what = "interpreter for " + exec.language;
            Plan p = locate(interp->program, exec.env, what.c_str());
            if (!p.refused) p.argv = script_argv(*interp, p.path, exec.source, exec.args);
            return p;
        }
    }
    return refuse(Reason::InvalidProgram, "unknown Exec kind");
}

// Why the child did not reach the program, sent over a close-on-exec pipe.
struct ChildFailure {
    int stage;  // 1 chdir, 2 exec, 3 stdin, 4 the Exec (a run forked ahead), 5 privileges
    int err;
};

[[noreturn]] void child_fail(int fd, int stage) {
    ChildFailure f{stage, errno};
    (void)!::write(fd, &f, sizeof f);
    ::_exit(127);
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
    std::vector<char*> out;
    for (std::string& s : v) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

struct Pipes {
    host::Pipe in, out, err, result, status;
};

// In the child, first: into the run's cgroup (before it allocates anything), its own process
// group, only its ends of the pipes.
void enter_run(Pipes& p, int channel_fd, int cgroup_procs_fd) {
    ::close(channel_fd);
    if (cgroup_procs_fd >= 0 && !write_all(cgroup_procs_fd, "0")) child_fail(p.status.write.get(), 3);
    // Opened by root: the kernel checks a migration against the opener, so a program holding it
    // could move the agent itself into the run's cgroup.
    if (cgroup_procs_fd >= 0) ::close(cgroup_procs_fd);
    p.in.write.reset();  // the agent's ends
    p.out.read.reset();
    p.err.read.reset();
    p.result.read.reset();
    p.status.read.reset();
    ::setpgid(0, 0);
}

// In a VM the agent is root, and root in the guest could lift what the agent set for the run:
// its cgroup's memory.max, kernel.threads-max, its place in the run's cgroup. The program runs
// as program_uid() (the uid QEMU serves the shares as, so that it owns what it creates there)
// with the group nogroup and no supplementary groups, without capabilities (they go with the
// uid) and with no new privileges; the cgroup and sysctl files are root's.
void drop_privileges(int status_fd) {
    constexpr gid_t kNogroup = 65534;
    const uid_t uid = program_uid();
    if (uid == 0 || ::setgroups(0, nullptr) != 0 || ::setresgid(kNogroup, kNogroup, kNogroup) != 0 ||
        ::setresuid(uid, uid, uid) != 0 || ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        if (uid == 0) errno = EPERM;
        child_fail(status_fd, 5);
    }
}

// In the child, then: never returns. on_big_stack: see evaluate().
[[noreturn]] void start_program(const Exec& exec, Plan& plan, Pipes& p, bool on_big_stack = false) {
    if (is_vm_init()) drop_privileges(p.status.write.get());
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int in = p.in.read.get();
    if (!exec.stdin_frames) {
        in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (in < 0) child_fail(p.status.write.get(), 3);
    }
    if (::dup2(in, 0) < 0 || ::dup2(p.out.write.get(), 1) < 0 || ::dup2(p.err.write.get(), 2) < 0) {
        child_fail(p.status.write.get(), 3);
    }
    if (exec.kind == Exec::Kind::Rtfs) {
        ::chdir("/");
        // No exec closes the agent's descriptors here: the evaluator keeps 0-2 and the result
        // pipe, as 3, and nothing else (the status pipe would let it fake "never started").
        if (::dup2(p.result.write.get(), 3) != 3) child_fail(p.status.write.get(), 3);
        ::syscall(SYS_close_range, 4u, ~0u, 0u);
        Result r = evaluate(exec.job, 1, 2, on_big_stack);
        ::_exit(write_all(3, result_frame(r)) ? 0 : 70);
    }
    if (::chdir(exec.cwd.c_str()) != 0) child_fail(p.status.write.get(), 1);
    std::vector<std::string> env = exec.env;
    auto argv = c_strings(plan.argv);
    auto envp = c_strings(env);
    ::execve(plan.path.c_str(), argv.data(), envp.data());
    child_fail(p.status.write.get(), 2);
}

AgentError failure_of(const ChildFailure& f, const Exec& exec, const Plan& plan) {
    const std::string why = std::strerror(f.err);
    switch (f.stage) {
        case 1: return {Reason::SetupError, "cannot enter cwd " + exec.cwd + ": " + why};
        case 3: return {Reason::SetupError, "cannot set up the program's stdio: " + why};
        case 4: return {Reason::SetupError, "the run's process could not take its Exec: " + why};
        case 5: return {Reason::SetupError, "the run's process could not drop its privileges: " + why};
        default: break;
    }
    if (f.err == ENOENT) {
        return {Reason::ProgramNotFound, plan.path + ": its ELF interpreter is missing (" + why + ")"};
    }
    if (f.err == EACCES) return {Reason::NotExecutable, plan.path + ": " + why};
    return {Reason::ExecFailed, plan.path + ": " + why};
}

// VM mode: the next run's process, forked ahead by prepare_next_run() (before the agent's Hello,
// so a template's snapshot holds it, and after each run): in its run cgroup, with its pipes,
// blocked reading the Exec from `job`. A restored VM's Exec then creates no cgroup, forks
// nothing and starts no thread.
struct ForkedAhead {
    pid_t pid = -1;
    uint64_t tasks = 1;  // its threads: the main one and, normally, the big-stack one it waits on
    UniqueFd pidfd;
    Pipes pipes;
    UniqueFd job;  // the agent's end: the Exec's payload, then EOF
    std::unique_ptr<RunCgroup> cgroup;
};
std::unique_ptr<ForkedAhead> g_ahead;

constexpr size_t kMaxJobBytes = 64u << 20;  // beyond any Exec frame (kMaxFrameBytes)

// In the forked-ahead child: waits for the Exec, then runs it as a fresh child would (on the
// big-stack thread it waits on, when it has one: an RTFS evaluation then starts no thread, and a
// program's execve from it replaces the whole process as from the main thread).
[[noreturn]] void wait_for_job(Pipes& p, int job_fd, bool on_big_stack) {
    std::optional<std::string> payload = host::read_to_end(job_fd, kMaxJobBytes);
    ::close(job_fd);
    if (!payload || payload->empty()) ::_exit(0);  // the agent went away: nothing to run
    // The program's uid, named by the Setup after this process was forked (run_exec).
    if (payload->size() < 10 || !set_program_uid(static_cast<uint32_t>(std::strtoul(payload->substr(0, 10).c_str(), nullptr, 10)))) {
        errno = EINVAL;
        child_fail(p.status.write.get(), 4);
    }
    payload->erase(0, 10);
    auto exec = decode_exec(*payload);
    if (!exec) {
        errno = EINVAL;
        child_fail(p.status.write.get(), 4);
    }
    Plan plan = plan_for(*exec);
    if (plan.refused) {  // the agent checked the same plan: only a changed file system gets here
        errno = ENOENT;
        child_fail(p.status.write.get(), 4);
    }
    start_program(*exec, plan, p, on_big_stack);
}

bool alive(const ForkedAhead& a) { return a.pidfd.valid() && !host::process_exited(a.pidfd.get()); }

// Kills the process group pid leads (a run's process is its group's leader, and what it started
// stays in the group or its cgroup) and reaps the leader.
void kill_group_and_reap(pid_t pid) {
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
}

uint64_t micros(const struct timeval& tv) {
    return static_cast<uint64_t>(tv.tv_sec) * 1'000'000u + static_cast<uint64_t>(tv.tv_usec);
}

// The relay: runs until the program exited and its pipes are drained.
class Relay {
  public:
    Relay(Channel& ch, agent::FrameDecoder& from_host, const Exec& exec, Plan plan, pid_t pid,
          UniqueFd pidfd, Pipes& pipes, const RunCgroup* cgroup)
        : ch_(ch), from_host_(from_host), exec_(exec), plan_(std::move(plan)), pid_(pid),
          pidfd_(std::move(pidfd)), pipes_(pipes), cgroup_(cgroup) {}

    // False when the channel broke or the host broke the protocol.
    bool run() {
        if (exec_.stdin_frames) ::fcntl(pipes_.in.write.get(), F_SETFL, O_NONBLOCK);
        else pipes_.in.write.reset();
        while (!done()) {
            std::vector<pollfd> fds;
            auto watch = [&](int fd, short events) {
                if (fd >= 0) fds.push_back({fd, events, 0});
            };
            watch(ch_.fd(), POLLIN);
            watch(pipes_.out.read.get(), POLLIN);
            watch(pipes_.err.read.get(), POLLIN);
            watch(pipes_.result.read.get(), POLLIN);
            watch(pipes_.status.read.get(), POLLIN);
            if (!stdin_pending_.empty() || stdin_eof_) watch(pipes_.in.write.get(), POLLOUT);
            if (!reaped_) watch(pidfd_.get(), POLLIN);
            // Without pidfds (kernels before 5.3) the exit is polled for.
            int timeout = pidfd_.get() < 0 && !reaped_ ? 20 : -1;
            if (reaped_) {
                auto left = std::chrono::ceil<std::chrono::milliseconds>(drain_until_ - Clock::now());
                if (left.count() <= 0) break;
                timeout = static_cast<int>(left.count());
            }
            int n = ::poll(fds.data(), fds.size(), timeout);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return abandon();
            for (const pollfd& p : fds) {
                if (p.revents == 0) continue;
                if (p.fd == ch_.fd()) {
                    if (!from_host()) return abandon();
                } else if (p.fd == pipes_.out.read.get()) {
                    relay_output(pipes_.out.read, agent::StreamId::Stdout);
                } else if (p.fd == pipes_.err.read.get()) {
                    relay_output(pipes_.err.read, agent::StreamId::Stderr);
                } else if (p.fd == pipes_.result.read.get()) {
                    read_into(pipes_.result.read, result_);
                } else if (p.fd == pipes_.status.read.get()) {
                    read_into(pipes_.status.read, status_);
                } else if (p.fd == pipes_.in.write.get()) {
                    feed_stdin();
                } else if (p.fd == pidfd_.get()) {
                    reap();
                }
            }
            if (broken_) return abandon();
            if (!reaped_ && pidfd_.get() < 0) {
                siginfo_t info{};
                if (::waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                    info.si_pid == pid_) {
                    reap();
                }
            }
        }
        return finish();
    }

  private:
    bool done() const {
        return reaped_ && pipes_.out.read.get() < 0 && pipes_.err.read.get() < 0 &&
               pipes_.result.read.get() < 0 && pipes_.status.read.get() < 0;
    }

    // Frames from the host while the program runs: Stdin, Kill. Anything else breaks the
    // protocol.
    bool from_host() {
        if (!ch_.receive(from_host_)) return false;  // the host is gone
        agent::Frame f;
        for (;;) {
            switch (from_host_.next(f)) {
                case agent::FrameDecoder::Status::NeedMore: return true;
                case agent::FrameDecoder::Status::Malformed:
                    std::fprintf(stderr, "microvm-guest: %s\n", from_host_.error().c_str());
                    return false;
                case agent::FrameDecoder::Status::Ready: break;
            }
            if (f.type == FrameType::Stdin) {
                if (!exec_.stdin_frames || stdin_eof_) continue;  // nothing to feed: dropped
                if (f.payload.empty()) stdin_eof_ = true;
                stdin_pending_ += f.payload;
                feed_stdin();
            } else if (f.type == FrameType::Kill) {
                auto k = decode_kill(f.payload);
                if (!reaped_) signal_run(k ? k->signal : SIGKILL);
            } else {
                std::fprintf(stderr, "microvm-guest: a %s frame while a program runs\n",
                             agent::type_name(f.type));
                return false;
            }
        }
    }

    void feed_stdin() {
        int fd = pipes_.in.write.get();
        if (fd < 0) return;
        while (!stdin_pending_.empty()) {
            ssize_t n = ::write(fd, stdin_pending_.data(), stdin_pending_.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) return;
            if (n < 0) {  // EPIPE: the program closed its stdin
                stdin_pending_.clear();
                pipes_.in.write.reset();
                return;
            }
            stdin_pending_.erase(0, static_cast<size_t>(n));
        }
        if (stdin_eof_) pipes_.in.write.reset();
    }

    // One read of what fd has; closes fd at EOF or on an error (then returns empty).
    static std::string_view read_chunk(UniqueFd& fd, char* buf, size_t size) {
        ssize_t n;
        do {
            n = ::read(fd.get(), buf, size);
        } while (n < 0 && errno == EINTR);
        if (n <= 0) {
            fd.reset();
            return {};
        }
        return {buf, static_cast<size_t>(n)};
    }

    void relay_output(UniqueFd& fd, agent::StreamId stream) {
        char buf[agent::kMaxChunkBytes];
        std::string_view chunk = read_chunk(fd, buf, sizeof buf);
        if (!chunk.empty() && !ch_.send_bytes(agent::encode_output(stream, chunk))) broken_ = true;
    }

    void read_into(UniqueFd& fd, std::string& into) {
        char buf[65536];
        std::string_view chunk = read_chunk(fd, buf, sizeof buf);
        if (into.size() < kMaxFrameBytes + 4) into.append(chunk);
    }

    void reap() {
        struct rusage ru {};
        pid_t r;
        do {
            r = ::wait4(pid_, &wait_status_, 0, &ru);
        } while (r < 0 && errno == EINTR);
        reaped_ = true;
        usage_.cpu_user_us = micros(ru.ru_utime);
        usage_.cpu_system_us = micros(ru.ru_stime);
        usage_.peak_memory_bytes = static_cast<uint64_t>(ru.ru_maxrss) * 1024;
        usage_.wall_us = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_).count());
        ::kill(-pid_, SIGKILL);  // the program's end ends its processes, as in every sandbox
        if (cgroup_) {
            // The guest kernel's count for every process of the run, not just the first.
            usage_.peak_memory_bytes = cgroup_->peak_bytes();
            usage_.oom_killed = cgroup_->oom_killed();
            cgroup_->kill_all();  // also those that left the process group
            // The run's CPU time, orphans included: with one vCPU every other process is
            // switched out while the agent runs, so the count is complete up to the kill.
            uint64_t user = 0, system = 0;
            if (cgroup_->cpu_time_us(user, system)) {
                usage_.cpu_user_us = std::max(usage_.cpu_user_us, user);
                usage_.cpu_system_us = std::max(usage_.cpu_system_us, system);
            }
        }
        drain_until_ = Clock::now() + kDrainGrace;
    }

    // The program's process group, the program itself (it may have joined another group: a
    // kill of its own group then reached no one) and, for SIGKILL, every process of its cgroup.
    void signal_run(int sig) {
        ::kill(-pid_, sig);
        if (!reaped_) ::kill(pid_, sig);
        if (sig == SIGKILL && cgroup_) cgroup_->kill_all();
    }

    // The channel broke: nothing more is sent; the program does not outlive it.
    bool abandon() {
        signal_run(SIGKILL);
        if (!reaped_) {
            int st;
            while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
            }
        }
        return false;
    }

    bool finish() {
        if (status_.size() >= sizeof(ChildFailure)) {
            ChildFailure f;
            std::memcpy(&f, status_.data(), sizeof f);
            return ch_.send(FrameType::Error, encode_agent_error(failure_of(f, exec_, plan_)));
        }
        std::string frames;
        if (exec_.kind == Exec::Kind::Rtfs && WIFEXITED(wait_status_) &&
            WEXITSTATUS(wait_status_) == 0) {
            // Re-encoded, never passed through: what reaches the channel is one valid frame.
            if (auto r = read_result_frame(result_)) frames += result_frame(*r);
        }
        frames += agent::encode_frame(FrameType::Usage, encode_usage(usage_));
        ExitStatus exit;
        if (WIFSIGNALED(wait_status_)) exit.signal = WTERMSIG(wait_status_);
        else exit.exit_code = WEXITSTATUS(wait_status_);
        frames += agent::encode_frame(FrameType::Exit, encode_exit(exit));
        return ch_.send_bytes(frames);
    }

    Channel& ch_;
    agent::FrameDecoder& from_host_;
    const Exec& exec_;
    Plan plan_;
    pid_t pid_;
    UniqueFd pidfd_;
    Pipes& pipes_;
    const RunCgroup* cgroup_;
    Clock::time_point started_ = Clock::now();
    Clock::time_point drain_until_{};
    bool reaped_ = false;
    bool broken_ = false;
    int wait_status_ = 0;
    Usage usage_;
    std::string stdin_pending_;
    bool stdin_eof_ = false;
    std::string result_;
    std::string status_;
};

}  // namespace

void prepare_next_run(int channel_fd) {
    if (vm_cgroup_root().empty() || g_ahead) return;
    auto a = std::make_unique<ForkedAhead>();
    std::string error;
    a->cgroup = RunCgroup::create(vm_cgroup_root(), 0, error);
    if (!a->cgroup) return;  // the Exec makes its own and reports what fails
    host::Pipe job, waiting;
    for (host::Pipe* pipe : {&a->pipes.in, &a->pipes.out, &a->pipes.err, &a->pipes.result,
                             &a->pipes.status, &job, &waiting}) {
        auto made = host::make_pipe();
        if (!made) return;
        *pipe = std::move(*made);
    }
    const pid_t pid = ::fork();
    if (pid < 0) return;
    if (pid == 0) {
        job.write.reset();
        waiting.read.reset();
        enter_run(a->pipes, channel_fd, a->cgroup->procs_fd());
        Pipes& p = a->pipes;
        const int job_fd = job.read.get();
        // Says how many threads wait (the agent counts them in the task limit), then waits.
        auto wait_as = [&p, job_fd, &waiting](char tasks, bool on_big_stack) {
            // A new thread's first allocation makes its malloc arena (mmap, munmap, mprotect):
            // made here, ahead, as the rest of this process.
            void* volatile first = std::malloc(64);
            std::free(first);
            if (!write_all(waiting.write.get(), std::string_view(&tasks, 1))) ::_exit(0);
            waiting.write.reset();
            wait_for_job(p, job_fd, on_big_stack);
        };
        // wait_for_job never returns: when the thread cannot start, this one waits instead.
        (void)rtfs::host::run_with_stack(rtfs::host::kBigStackBytes, [&wait_as] { wait_as(2, true); });
        wait_as(1, false);
    }
    ::setpgid(pid, pid);
    a->pid = pid;
    a->pidfd = open_pidfd(pid);
    a->job = std::move(job.write);
    waiting.write.reset();
    // Until it waits: then its threads are all there, and a template's snapshot holds it so.
    char tasks = 0;
    ssize_t n;
    while ((n = ::read(waiting.read.get(), &tasks, 1)) < 0 && errno == EINTR) {
    }
    if (n != 1 || (tasks != 1 && tasks != 2)) {
        kill_group_and_reap(pid);
        return;  // the next Exec forks its process itself
    }
    a->tasks = static_cast<uint64_t>(tasks);
    Pipes& p = a->pipes;
    p.in.read.reset();
    p.out.write.reset();
    p.err.write.reset();
    p.result.write.reset();
    p.status.write.reset();
    g_ahead = std::move(a);
}

bool run_exec(Channel& channel, agent::FrameDecoder& from_host, const Exec& exec,
              std::string_view payload) {
    Plan plan = plan_for(exec);
    if (plan.refused) return channel.send(FrameType::Error, encode_agent_error(*plan.refused));
    if (std::unique_ptr<ForkedAhead> a = std::move(g_ahead)) {
        if (alive(*a)) {
            std::string error;
            if (exec.max_processes) error = limit_guest_tasks(exec.max_processes, a->tasks);
            if (error.empty() && exec.memory_max_bytes) error = a->cgroup->limit_memory(exec.memory_max_bytes);
            if (!error.empty()) {
                return channel.send(FrameType::Error, encode_agent_error({Reason::SetupError, error}));
            }
            // The limits hold before the child reads its Exec. It was forked before the Setup
            // that named the program's uid: the uid goes first (ten decimal digits).
            char uid[16];
            std::snprintf(uid, sizeof uid, "%010u", program_uid());
            if (write_all(a->job.get(), std::string(uid, 10) + std::string(payload))) {
                a->job.reset();
                return Relay(channel, from_host, exec, std::move(plan), a->pid, std::move(a->pidfd),
                             a->pipes, a->cgroup.get())
                    .run();
            }
        }
        // Gone (nothing in the guest kills it, but): ended, and this run forks its own.
        kill_group_and_reap(a->pid);
        a.reset();  // its cgroup, empty now
    }
    std::unique_ptr<RunCgroup> cgroup;
    if (!vm_cgroup_root().empty()) {
        std::string error;
        if (exec.max_processes) error = limit_guest_tasks(exec.max_processes);
        if (error.empty()) cgroup = RunCgroup::create(vm_cgroup_root(), exec.memory_max_bytes, error);
        if (!error.empty()) {
            return channel.send(FrameType::Error, encode_agent_error({Reason::SetupError, error}));
        }
    } else if (exec.memory_max_bytes || exec.max_processes) {
        // Real or refused: outside a VM the sandbox around the agent enforces limits.
        return channel.send(FrameType::Error,
                            encode_agent_error({Reason::SetupError,
                                                "memory_max_bytes and max_processes need the "
                                                "VM agent (its cgroup and task limit)"}));
    }
    Pipes p;
    for (host::Pipe* pipe : {&p.in, &p.out, &p.err, &p.result, &p.status}) {
        auto made = host::make_pipe();
        if (!made) {
            return channel.send(FrameType::Error,
                                encode_agent_error({Reason::SetupError, made.error().message}));
        }
        *pipe = std::move(*made);
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        return channel.send(FrameType::Error,
                            encode_agent_error({Reason::SetupError,
                                                std::string("fork: ") + std::strerror(errno)}));
    }
    if (pid == 0) {
        enter_run(p, channel.fd(), cgroup ? cgroup->procs_fd() : -1);
        start_program(exec, plan, p);
    }
    ::setpgid(pid, pid);  // also here: a Kill may arrive before the child ran
    UniqueFd pidfd = open_pidfd(pid);
    p.in.read.reset();
    p.out.write.reset();
    p.err.write.reset();
    p.result.write.reset();
    p.status.write.reset();
    return Relay(channel, from_host, exec, std::move(plan), pid, std::move(pidfd), p,
                 cgroup.get())
        .run();
}

}  // namespace microvm::guest
