#include "process/namespaces.hpp"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>

#include "process/supervisor.hpp"
#include "host/sys_error.hpp"

namespace microvm::process {

using host::UniqueFd;
using host::sys_failure;
namespace {

Expected<void> write_proc_file(pid_t pid, const char* name, const std::string& text) {
    std::string path = "/proc/" + std::to_string(pid) + "/" + name;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) return sys_failure("open " + path, errno);
    ssize_t n = ::write(fd.get(), text.data(), text.size());
    if (n != static_cast<ssize_t>(text.size())) return sys_failure("write " + path, errno);
    return Ok{};
}

}  // namespace

IdMapping IdMapping::for_this_process() {
    IdMapping m;
    if (::geteuid() != 0) {
        m.host_is_root = false;
        m.inside_uid = m.outside_uid = ::geteuid();
        m.inside_gid = m.outside_gid = ::getegid();
    }
    return m;
}

Expected<void> IdMapping::apply(pid_t child) const {
    if (!host_is_root) RTFS_CHECK(write_proc_file(child, "setgroups", "deny"));
    RTFS_CHECK(write_proc_file(
        child, "uid_map", std::to_string(inside_uid) + " " + std::to_string(outside_uid) + " 1"));
    RTFS_CHECK(write_proc_file(
        child, "gid_map", std::to_string(inside_gid) + " " + std::to_string(outside_gid) + " 1"));
    return Ok{};
}

uint64_t sandbox_namespace_flags(bool new_network) {
    uint64_t flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
    if (new_network) flags |= CLONE_NEWNET;
    return flags;
}

Expected<SandboxIdentity> new_sandbox_identity(const IdMapping& host_ids) {
    SandboxIdentity identity;
    identity.ids = host_ids;
    if (!host_ids.host_is_root) return identity;
    RTFS_TRY(host::IdLease lease, host::IdLease::take());
    identity.owner = kOwnerIdBase + lease.number();
    identity.ids.outside_uid = kProgramIdBase + lease.number();
    identity.ids.outside_gid = kProgramIdBase + lease.number();
    identity.lease.emplace(std::move(lease));
    return identity;
}

namespace {

// The calling thread (only: the raw system calls, not libc's process-wide wrappers) acts as
// another uid while it lives; saved uid 0 keeps the capabilities to come back.
class ThreadIdentity {
  public:
    explicit ThreadIdentity(uid_t uid) {
        death_signal_ = 0;
        ::prctl(PR_GET_PDEATHSIG, &death_signal_, 0, 0, 0);
        ok_ = ::syscall(SYS_setresuid, uid, uid, 0) == 0;
    }
    ~ThreadIdentity() {
        if (!ok_) return;
        ::syscall(SYS_setresuid, 0, 0, 0);
        // A credential change clears these; they are the host's, not ours to change.
        ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        if (death_signal_) ::prctl(PR_SET_PDEATHSIG, death_signal_, 0, 0, 0);
    }
    bool ok() const { return ok_; }

  private:
    bool ok_ = false;
    int death_signal_ = 0;
};

}  // namespace

Expected<host::ChildProcess> spawn_init(uint64_t namespace_flags, int cgroup_fd, const ChildPlan& plan,
                                 std::optional<uid_t> owner) {
    int pidfd = -1;
    struct clone_args args {};
    args.flags = namespace_flags | CLONE_PIDFD;
    args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
    args.exit_signal = SIGCHLD;
    if (cgroup_fd >= 0 && !owner) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = static_cast<uint64_t>(cgroup_fd);
    }
    long pid;
    int clone_errno = 0;
    {
        std::optional<ThreadIdentity> as_owner;
        if (owner) {
            as_owner.emplace(*owner);
            if (!as_owner->ok()) return sys_failure("setresuid (the namespace owner)", errno);
        }
        // Like fork: the child continues on a copy of this stack, in a copy of this address
        // space (and with this thread's credentials).
        pid = ::syscall(SYS_clone3, &args, sizeof args);
        if (pid == 0) run_init(plan);
        clone_errno = errno;
    }
    if (pid < 0) return sys_failure("clone3 (creating the sandbox namespaces)", clone_errno);
    return host::ChildProcess::adopt(static_cast<pid_t>(pid), host::UniqueFd(pidfd));
}

namespace {

// The first process of an idmapping namespace: it only has to exist while the host writes the
// maps and opens the namespace, and is killed then. It shares the host's memory (CLONE_VM: no
// copy of the host's page tables, the costly part of a fork of a big host) and so writes
// nothing (none of these calls fails or returns to set errno, the host thread's): pause()
// returns only to a signal handler, and every signal is blocked in it (user_namespace_fd). It
// dies with the host thread, which would otherwise leave it holding the host's memory.
int hold_namespace(void* host_pid) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (::getppid() != *static_cast<const pid_t*>(host_pid)) ::_exit(0);  // the host is gone
    for (;;) ::pause();
}

constexpr size_t kHolderStack = 64 * 1024;

}  // namespace

Expected<UniqueFd> user_namespace_fd(const std::string& uid_map, const std::string& gid_map) {
    auto stack = std::make_unique<char[]>(kHolderStack);
    pid_t host_pid = ::getpid();
    // Every signal blocked in the child from its first instruction (it inherits this thread's
    // mask): a handler of the host's (a terminal's SIGINT reaches the whole process group) must
    // never run on the holder's stack in the host's memory. SIGKILL still ends it.
    sigset_t all, previous;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &previous);
    const pid_t child = ::clone(hold_namespace, stack.get() + kHolderStack,
                                CLONE_NEWUSER | CLONE_VM | SIGCHLD, &host_pid);
    const int clone_errno = errno;
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    if (child < 0) return sys_failure("clone (an idmapping namespace)", clone_errno);
    Expected<UniqueFd> ns = [&]() -> Expected<UniqueFd> {
        RTFS_CHECK(write_proc_file(child, "uid_map", uid_map));
        RTFS_CHECK(write_proc_file(child, "gid_map", gid_map));
        const std::string path = "/proc/" + std::to_string(child) + "/ns/user";
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd.valid()) return sys_failure("open " + path, errno);
        return fd;
    }();
    ::kill(child, SIGKILL);
    while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
    return ns;  // the stack is freed only now, with the child gone
}

Expected<void> spawn_probe(uint64_t namespace_flags) {
    // Creating the user namespace is what can fail; mapping the host's ids then cannot.
    struct clone_args args {};
    // CLONE_VFORK: we resume once the child is gone, without a round trip through the scheduler.
    args.flags = namespace_flags | CLONE_VFORK;
    args.exit_signal = SIGCHLD;
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) return sys_failure("clone3 (creating namespaces)", errno);
    if (pid == 0) ::_exit(0);
    int status = 0;
    while (::waitpid(static_cast<pid_t>(pid), &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return fail(Failure::Kind::SetupError, "a probe child in new namespaces failed");
    }
    return Ok{};
}

}  // namespace microvm::process
