#include "process/supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "host/init_reaper.hpp"
#include "host/unique_fd.hpp"
#include "process/child_failure.hpp"
#include "process/credentials.hpp"
#include "process/launch_message.hpp"
#include "process/mounts.hpp"
#include "process/net.hpp"
#include "process/rlimits.hpp"
#include "process/seccomp.hpp"

namespace microvm::process {
namespace {

constexpr int kFirstPrivateFd = 10;  // above stdin/out/err and the guest's result fd 3
constexpr int kResultFd = 3;

struct InitFds {
    int sync = -1, report = -1, in = -1, out = -1, err = -1, result = -1, egress = -1, launch = -1;
    int cgroup_join[kMaxCgroupJoinFds] = {-1, -1, -1, -1};
};

struct ProgramArgs {
    const ChildPlan* plan;
    const InitFds* fds;
};

// The program child's stack: it shares the init's memory until exec (CLONE_VM | CLONE_VFORK).
alignas(64) char g_program_stack[256 * 1024];

// Moves the descriptors the init needs above kFirstPrivateFd and closes every other inherited
// one (the host may hold descriptors of other sandboxes that must not stay open here), except
// the bind trees the host cloned for this sandbox (plan.mounts[i].tree_fd), kept where they are.
bool take_descriptors(const ChildPlan& plan, InitFds& fds) {
    const ChildFds& given = plan.fds;
    constexpr size_t kCount = 8 + kMaxCgroupJoinFds;
    int* const outs[kCount] = {&fds.launch,
                               &fds.egress,
                               &fds.sync,
                               &fds.report,
                               &fds.in,
                               &fds.out,
                               &fds.err,
                               &fds.result,
                               &fds.cgroup_join[0],
                               &fds.cgroup_join[1],
                               &fds.cgroup_join[2],
                               &fds.cgroup_join[3]};
    int ins[kCount] = {given.launch,
                       given.egress,
                       given.sync,
                       given.report,
                       given.stdin_fd,
                       given.stdout_fd,
                       given.stderr_fd,
                       given.result,
                       -1,
                       -1,
                       -1,
                       -1};
    for (size_t i = 0; i < given.cgroup_join_count && i < kMaxCgroupJoinFds; ++i) {
        ins[8 + i] = given.cgroup_join[i];
    }
    static int kept[kCount + kMaxChildMounts];  // the init is single-threaded
    size_t n = 0;
    for (size_t i = 0; i < kCount; ++i) {
        if (ins[i] < 0) continue;
        int fd = ::fcntl(ins[i], F_DUPFD_CLOEXEC, kFirstPrivateFd);
        if (fd < 0) return false;
        *outs[i] = fd;
        kept[n++] = fd;
    }
    for (size_t i = 0; i < plan.mount_count && i < kMaxChildMounts; ++i) {
        if (plan.mounts[i].tree_fd >= 0) kept[n++] = plan.mounts[i].tree_fd;
    }
    for (size_t i = 1; i < n; ++i) {  // insertion sort: the trees arrive almost in order
        for (size_t j = i; j > 0 && kept[j - 1] > kept[j]; --j) std::swap(kept[j - 1], kept[j]);
    }
    unsigned next = 0;
    for (size_t i = 0; i < n; ++i) {
        unsigned fd = static_cast<unsigned>(kept[i]);
        if (fd > next) ::close_range(next, fd - 1, 0);
        next = fd + 1;
    }
    ::close_range(next, ~0U, 0);
    return true;
}

// The init is a copy of the host process, so /proc/1/cmdline, environ and comm would show the
// host's command line and environment (secrets on the command line, tokens in the environment)
// to the program: blank them in this copy and name it "microvm-init". Reads its own argument and
// environment areas from /proc/self/stat (fields 48-51), async-signal-safely.
void hide_host_command_line() {
    ::prctl(PR_SET_NAME, "microvm-init", 0, 0, 0);
    char buf[4096];
    int fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return;
    buf[n] = '\0';
    char* p = std::strrchr(buf, ')');  // the name (field 2) may hold anything but ends there
    if (!p) return;
    unsigned long field[52] = {};
    int index = 2;
    while (*p && index < 51) {
        while (*p && *p != ' ') ++p;
        while (*p == ' ') ++p;
        if (!*p) break;
        ++index;
        unsigned long v = 0;
        while (*p >= '0' && *p <= '9') v = v * 10 + static_cast<unsigned long>(*p++ - '0');
        field[index] = v;
    }
    if (index < 51) return;
    const unsigned long arg_start = field[48], arg_end = field[49];
    const unsigned long env_start = field[50], env_end = field[51];
    if (env_end > env_start) std::memset(reinterpret_cast<void*>(env_start), 0, env_end - env_start);
    if (arg_end > arg_start) {
        char* args = reinterpret_cast<char*>(arg_start);
        std::memset(args, 0, arg_end - arg_start);
        static const char kName[] = "microvm-init";
        std::memcpy(args, kName, std::min(sizeof kName, arg_end - arg_start) - 1);
    }
}

// Default dispositions and an empty mask: nothing of the host's signal setup reaches the program.
void reset_signals() {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &sa, nullptr);
    }
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

bool wait_for_host(int sync_fd) {
    char go = 0;
    ssize_t n;
    do {
        n = ::read(sync_fd, &go, 1);
    } while (n < 0 && errno == EINTR);
    return n == 1;
}

// cgroup v1: moving ourselves ("0" = the writing thread) into each hierarchy's cgroup.
bool join_cgroups(InitFds& fds, ChildFailure& f) {
    for (int& fd : fds.cgroup_join) {
        if (fd < 0) continue;
        if (::write(fd, "0", 1) != 1) return failed(f, ChildStep::kJoinCgroup);
        ::close(fd);
        fd = -1;
    }
    return true;
}

// Limits of the sandbox's own user namespace (/proc/sys/user of the writer's namespace), so one
// sandbox holds at most this much of its owner's budget: no namespaces of its own (seccomp
// refuses them too) and few inotify instances. Written once the init has built the sandbox
// (its detached mounts count as mount namespaces), while it still has every capability there.
bool limit_user_namespace(ChildFailure& f) {
    struct Limit {
        const char* file;
        const char* value;
    };
    static const Limit kLimits[] = {
        {"/proc/sys/user/max_user_namespaces", "0"},  {"/proc/sys/user/max_pid_namespaces", "0"},
        {"/proc/sys/user/max_net_namespaces", "0"},   {"/proc/sys/user/max_mnt_namespaces", "0"},
        {"/proc/sys/user/max_ipc_namespaces", "0"},   {"/proc/sys/user/max_uts_namespaces", "0"},
        {"/proc/sys/user/max_cgroup_namespaces", "0"}, {"/proc/sys/user/max_time_namespaces", "0"},
        {"/proc/sys/user/max_inotify_instances", "32"},
        {"/proc/sys/user/max_inotify_watches", "8192"},
        {"/proc/sys/user/max_fanotify_groups", "0"},  {"/proc/sys/user/max_fanotify_marks", "0"},
    };
    for (size_t i = 0; i < sizeof kLimits / sizeof kLimits[0]; ++i) {
        int fd = ::open(kLimits[i].file, O_WRONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) continue;  // a kernel without that counter
        bool ok = fd >= 0 && host::write_all(fd, kLimits[i].value);
        if (fd >= 0) ::close(fd);
        if (!ok) return failed(f, ChildStep::kUserNamespaceLimits, static_cast<int>(i));
    }
    return true;
}

// Before anything of the sandbox is built: joining the cgroups (the host has placed us by now
// where we could not join ourselves), the cgroup namespace rooted there, and the bind sources
// (with the host's view of permissions).
bool prepare_sandbox(const ChildPlan& plan, InitFds& fds, MountState& mounts, ChildFailure& f) {
    if (!join_cgroups(fds, f)) return false;
    // The cgroup namespace is rooted at the sandbox's cgroup, where we are now.
    if (::unshare(CLONE_NEWCGROUP) != 0) return failed(f, ChildStep::kCgroupNamespace);
    return clone_bind_sources(plan, mounts, f);
}

// The host keeps its end of the sync pipe open while the sandbox runs: a hang-up means it died.
bool host_gone(int sync_fd) {
    struct pollfd p = {sync_fd, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & POLLHUP);
}

bool build_sandbox(const ChildPlan& plan, InitFds& fds, MountState& mounts, ChildFailure& f) {
    if (!become_sandbox_user(plan, f)) return false;
    // The uid change cleared the parent-death signal until it was set again: if the host died
    // in between, nobody will send it.
    if (host_gone(fds.sync)) ::_exit(1);
    ::close(fds.sync);
    fds.sync = -1;
    if (!assemble_root(plan, mounts, f)) return false;
    if (plan.new_network && !bring_up_loopback(f)) return false;
    if (fds.egress >= 0) {
        if (!hand_over_egress_listener(fds.egress, plan.egress_port, f)) return false;
        ::close(fds.egress);
        fds.egress = -1;
    }
    if (::sethostname(plan.hostname, std::strlen(plan.hostname)) != 0) {
        return failed(f, ChildStep::kHostname);
    }
    return true;
}

// Everything of the program's process but its exec: session, descriptors, limits, privileges,
// seccomp. A sandbox built ahead does all of it before its launch, so that the launch costs the
// exec alone.
bool become_program(const ChildPlan& plan, const InitFds& fds, ChildFailure& f) {
    if (::setsid() < 0) return failed(f, ChildStep::kSetsid);  // no controlling terminal
    if (::dup2(fds.in, 0) < 0 || ::dup2(fds.out, 1) < 0 || ::dup2(fds.err, 2) < 0 ||
        (fds.result >= 0 && ::dup2(fds.result, kResultFd) < 0)) {
        return failed(f, ChildStep::kRedirectFds);
    }
    ::umask(022);
    if (!apply_rlimits(plan, f)) return false;
    if (!drop_all_privileges(plan, f)) return false;
    for (const sock_fprog* filter : {plan.seccomp_existence, plan.seccomp_arguments}) {
        if (filter && !install_seccomp(filter)) return failed(f, ChildStep::kSeccomp);
    }
    return true;
}

// The program's process, a CLONE_VM | CLONE_VFORK child of the init (which stays suspended
// until the exec). In a sandbox built ahead it reports kReady once it is the program in all but
// its exec, and waits for the launch message (argv and environment) under its seccomp filter
// with no privilege left: the host's message is the only thing it reads before the exec.
int program_main(void* arg) {
    const auto* args = static_cast<const ProgramArgs*>(arg);
    const ChildPlan& plan = *args->plan;
    const InitFds& fds = *args->fds;
    ChildFailure f;
    if (!become_program(plan, fds, f)) {
        send_failure(fds.report, ChildReport::kSetupFailed, f);
        ::_exit(127);
    }
    char* const* argv = plan.argv;
    char* const* envp = plan.envp;
    if (fds.launch >= 0) {
        ChildReport ready;
        ready.kind = ChildReport::kReady;
        send_report(fds.report, ready);
        LaunchArgs given;
        const LaunchRead read = read_launch(fds.launch, given);
        if (read == LaunchRead::kClosed) ::_exit(0);  // torn down unused
        if (read != LaunchRead::kOk) {
            failed(f, ChildStep::kLaunchMessage);
            send_failure(fds.report, ChildReport::kSetupFailed, f);
            ::_exit(127);
        }
        argv = given.argv;
        envp = given.envp;
    }
    ::execve(plan.exec_path, argv, envp);
    failed(f, ChildStep::kExec);
    send_failure(fds.report, ChildReport::kExecFailed, f);
    ::_exit(127);
}

}  // namespace

[[noreturn]] void run_init(const ChildPlan& plan) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    hide_host_command_line();
    InitFds fds;
    if (!take_descriptors(plan, fds)) ::_exit(1);
    reset_signals();
    ::umask(0);

    ChildFailure f;
    MountState mounts;
    // The ids are mapped and the init placed in its cgroup once the host says go; EOF means the
    // host gave up or died.
    if (!wait_for_host(fds.sync)) ::_exit(1);
    if (!prepare_sandbox(plan, fds, mounts, f) || !build_sandbox(plan, fds, mounts, f) ||
        !limit_user_namespace(f)) {
        send_failure(fds.report, ChildReport::kSetupFailed, f);
        ::_exit(1);
    }
    // The program's process (program_main). In a sandbox built ahead it says it is ready and
    // waits for its launch, the init suspended in the clone until its exec (CLONE_VFORK).
    ProgramArgs args{&plan, &fds};
    pid_t program = ::clone(program_main, g_program_stack + sizeof g_program_stack,
                            CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
    if (program < 0) {
        failed(f, ChildStep::kSpawnProgram);
        send_failure(fds.report, ChildReport::kSetupFailed, f);
        ::_exit(1);
    }
    if (fds.launch >= 0) ::close(fds.launch);
    for (int fd : {fds.in, fds.out, fds.err, fds.result}) {
        if (fd >= 0) ::close(fd);
    }

    // Reap every process that ends up ours until the program itself ends.
    ChildReport report;
    report.kind = ChildReport::kProgramEnded;
    report.wait_status = host::reap_until(program);
    // What the program left running (a daemon, a double fork) ends before the result: the
    // host returns it once this pipe ends, and the init's own exit, which would take the pid
    // namespace down, comes after the unmapping of this copy of the host's memory.
    host::kill_and_reap_namespace();
    send_report(fds.report, report);
    ::close(fds.report);
    ::_exit(0);
}

}  // namespace microvm::process
