#include "qemu/qemu_vm.hpp"
#include "host/unix_address.hpp"
#include "host/sys_error.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>
#include <vector>

#include "host/child_process.hpp"
#include "host/boot_cache.hpp"
#include "host/fd_passing.hpp"
#include "host/guest_image.hpp"
#include "host/mode_bits_filter.hpp"
#include "host/remove_tree.hpp"
#include "host/rlimits.hpp"
#include "host/scope_exit.hpp"
#include "host/egress.hpp"
#include "host/stale_dirs.hpp"
#include "qemu/egress_link.hpp"

namespace microvm::qemu {
namespace {

using Clock = std::chrono::steady_clock;

Expected<std::string> make_vm_dir(const std::string& state_dir, bool drop, uid_t uid) {
    RTFS_CHECK(check_state_dir(state_dir));
    std::string dir = state_dir + "/" + host::owned_name(kVmDirPrefix);
    if (::mkdir(dir.c_str(), 0700) != 0) {
        return host::sys_failure("cannot create " + dir, errno);
    }
    if (drop && ::chown(dir.c_str(), uid, kQemuGid) != 0) {
        host::remove_tree(dir);
        return host::sys_failure("cannot chown " + dir, errno);
    }
    return dir;
}

[[noreturn]] void child_exit(int err_fd, const char* what) {
    char buf[256];
    // strerrordesc_np, not strerror: no locale, no allocation (the parent may have other threads).
    const char* why = ::strerrordesc_np(errno);
    int n = std::snprintf(buf, sizeof buf, "qemu launch: %s: %s\n", what, why ? why : "unknown error");
    if (n > 0) (void)!::write(err_fd, buf, static_cast<size_t>(n));
    ::_exit(126);
}

// What the forked child needs to become QEMU, laid out by the parent: after the fork (the
// parent may have other threads) the child allocates nothing.
struct QemuChild {
    int err = -1;   // QEMU's stderr, the log
    int sync = -1;         // the parent's go byte (or EOF: the parent gave up)
    int sync_writer = -1;  // the parent's end, closed here so that the parent's close is an EOF
    const host::ModeBitsFilter* mode_bits = nullptr;
    std::vector<int> join_fds;
    int ns_flags = 0;
    int egress_link = -1;  // >= 0: make the tap and the proxy's listener, send the listener here
    std::optional<uid_t> drop_to_uid;
    pid_t parent = 0;
    uint64_t max_file_size = 0;  // 0: the limit this process has
    std::vector<int> sources;    // descriptors to place at targets (sources[0]: the tap, made here)
    std::vector<int> targets;
    int above = 0;  // the first number above every target
    const char* dir = nullptr;
    char* const* argv = nullptr;
};

[[noreturn]] void exec_qemu(QemuChild& c) {
    const int err = c.err;
    ::close(c.sync_writer);
    char go;
    if (::read(c.sync, &go, 1) != 1) ::_exit(125);  // the parent gave up
    for (int fd : c.join_fds) {
        if (::write(fd, "0", 1) != 1) child_exit(err, "joining the cgroup");
    }
    ::setsid();
    if (::unshare(c.ns_flags) != 0) child_exit(err, "unshare");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
        child_exit(err, "making mounts private");
    }
    // While still privileged in the new network namespace: the tap device and the listener.
    int tap = -1;
    if (c.egress_link >= 0) {
        const char* step = "";
        tap = set_up_egress_link(c.egress_link, host::kEgressPort, &step);
        if (tap < 0) child_exit(err, step);
    }
    if (c.drop_to_uid) {
        const uid_t uid = *c.drop_to_uid;
        if (::setgroups(0, nullptr) != 0 || ::setresgid(kQemuGid, kQemuGid, kQemuGid) != 0 ||
            ::setresuid(uid, uid, uid) != 0) {
            child_exit(err, "dropping to the unprivileged uid");
        }
    }
    // After the uid change (which clears it): QEMU dies with the thread that started it.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != c.parent) ::_exit(125);
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_exit(err, "no_new_privs");
    if (!c.mode_bits->install()) child_exit(err, "installing the mode-bits seccomp filter");
    // What QEMU writes for its guest (9p files, its log) is capped, with nothing for a guest
    // to raise it by: the hard limit needs CAP_SYS_RESOURCE of the host (red team, 2026-12-05:
    // a guest wrote a 1.3 GB file through an rw= share, where process stops at 1 GiB). A
    // write beyond a limit fails (EFBIG) rather than kill QEMU, a template's build included.
    if (::signal(SIGXFSZ, SIG_IGN) == SIG_ERR) child_exit(err, "ignoring SIGXFSZ");
    if (c.max_file_size) {
        const rlimit cap{c.max_file_size, c.max_file_size};
        if (::setrlimit(RLIMIT_FSIZE, &cap) != 0) child_exit(err, "capping QEMU's file size");
    }
    // A QEMU a guest crashed starts no core handler with the guest's memory (host/rlimits.hpp).
    const rlimit no_core{host::kSandboxCoreLimit, host::kSandboxCoreLimit};
    if (::setrlimit(RLIMIT_CORE, &no_core) != 0) child_exit(err, "limiting QEMU's core dumps");
    // QEMU's descriptors (qemu_command.hpp) first moved above their numbers and stdio's, so
    // that no dup2 below lands on one of them.
    c.sources[0] = tap;
    for (int& fd : c.sources) {
        if (fd >= 0 && (fd = ::fcntl(fd, F_DUPFD_CLOEXEC, c.above)) < 0) child_exit(err, "moving a descriptor");
    }
    int null = ::open("/dev/null", O_RDWR);
    if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(err, 1) < 0 || ::dup2(err, 2) < 0) {
        child_exit(err, "stdio");
    }
    if (::chdir(c.dir) != 0) child_exit(2, "chdir");
    // Then at their numbers (dup2 leaves the copy open across exec), every other one closed.
    for (size_t i = 0; i < c.sources.size(); ++i) {
        if (c.sources[i] < 0) {
            ::close(c.targets[i]);
        } else if (::dup2(c.sources[i], c.targets[i]) < 0) {
            child_exit(2, "placing a descriptor");
        }
    }
    ::syscall(SYS_close_range, c.above, ~0u, 0u);
    char* envp[] = {nullptr};
    ::execve(c.argv[0], c.argv, envp);
    child_exit(2, "execve");
}

}  // namespace

Expected<void> check_state_dir(const std::string& state_dir) {
    const bool made = ::mkdir(state_dir.c_str(), 0711) == 0;
    if (!made && errno != EEXIST) {
        return fail(Failure::Kind::SetupError,
                    "cannot create the state directory (setting state_dir) " + state_dir + ": " + host::errno_text(errno));
    }
    // Every directory above it too: whoever may rename an entry there could swap in a directory
    // of theirs, with a symlink where the host writes.
    RTFS_TRY(std::string real, host::trusted_cache_dir(state_dir, "state directory (setting state_dir)"));
    // Each VM's QEMU runs as a user of its own and must pass through this directory to its own:
    // 0711 whatever the umask (systemd's UMask=0077 made it 0700, and every VM failed its chdir).
    // Set on the real path, judged first: never through an entry someone could swap.
    if (made && ::chmod(real.c_str(), 0711) != 0) {
        return fail(Failure::Kind::SetupError,
                    "cannot set the mode of the state directory (setting state_dir) " + state_dir + ": " +
                        host::errno_text(errno));
    }
    struct stat st;
    if (::lstat(state_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() ||
        (st.st_mode & 022)) {
        return fail(Failure::Kind::SetupError,
                    "state directory (setting state_dir) " + state_dir +
                        " must be a directory of this user, not writable by group or others");
    }
    if ((st.st_mode & 0011) != 0011) {
        return fail(Failure::Kind::SetupError,
                    "state directory (setting state_dir) " + state_dir +
                        " must be searchable by group and others (mode 0711): each VM runs as a user of its own");
    }
    return {};
}

Expected<std::unique_ptr<QemuVm>> QemuVm::launch(const VmSpec& spec, const std::string& state_dir,
                                                 host::SandboxCgroup* cgroup, int state_fd) {
    // A VM that boots the image (not one that loads a template's state, made from an image
    // verified so: the template's key has the files' digests) boots only what the manifest says.
    if (!spec.incoming) RTFS_CHECK(host::verify_guest_image(spec.image));
    for (const ShareSpec& sh : spec.shares) {
        if (sh.fd < 0) {
            return fail(Failure::Kind::SetupError,
                        "share " + sh.host_path + " has no descriptor of its checked directory");
        }
    }
    if (spec.incoming != (state_fd >= 0)) {
        return fail(Failure::Kind::SetupError, "a restore needs its state file, and only a restore has one");
    }
    const bool root = ::geteuid() == 0;
    if (spec.egress && (spec.user_network || !root)) {
        return fail(Failure::Kind::SetupError, "an egress VM needs a root host and no user network");
    }
    uid_t uid = ::geteuid();
    std::optional<host::IdLease> uid_lease;
    if (root) {
        RTFS_TRY(host::IdLease lease, host::IdLease::take());
        uid = kQemuUidBase + lease.number();
        uid_lease = std::move(lease);
    }
    RTFS_TRY(std::string dir, make_vm_dir(state_dir, root, uid));
    host::ScopeExit remove_dir([&] { host::remove_tree(dir); });  // until the VM owns it

    std::vector<std::string> args = qemu_argv(spec, dir);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log = dir + "/qemu.stderr";
    // Read and write: QEMU's stderr, and what the host reads back (stderr_text) from this
    // descriptor, never by name: the directory is QEMU's, and a QEMU taken over by its guest
    // swapped the file for a FIFO, whose open blocked the host for good (red team, 2026-12-04).
    host::UniqueFd log_fd(::open(log.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!log_fd.valid() || (root && ::fchown(log_fd.get(), uid, kQemuGid) != 0)) {
        return host::sys_failure("cannot create " + log, errno);
    }
    // Egress: the child sends the proxy's listener on link[1] (host/fd_passing.hpp).
    int link[2] = {-1, -1};
    if (spec.egress && ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, link) != 0) {
        return host::sys_failure("socketpair", errno);
    }
    host::UniqueFd link_host(link[0]), link_child(link[1]);
    // The agent's channel: QEMU's chardev gets one end of a connected pair (kAgentFd).
    int agent[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, agent) != 0) {
        return host::sys_failure("socketpair", errno);
    }
    host::UniqueFd agent_host(agent[0]), agent_child(agent[1]);
    int sync[2];
    if (::pipe2(sync, O_CLOEXEC) != 0) return host::sys_failure("pipe", errno);
    host::UniqueFd sync_child(sync[0]), sync_parent(sync[1]);

    // Everything the child needs, laid out before the fork: it allocates nothing.
    QemuChild child;
    child.err = log_fd.get();
    child.sync = sync_child.get();
    child.sync_writer = sync_parent.get();
    // QEMU's 9p server writes files on the host for the guest: never with setuid/setgid bits.
    // Built here: the child allocates nothing.
    static const host::ModeBitsFilter mode_bits;
    child.mode_bits = &mode_bits;
    child.join_fds = cgroup ? cgroup->self_join_fds() : std::vector<int>{};
    child.ns_flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | (spec.user_network ? 0 : CLONE_NEWNET);
    if (!root) child.ns_flags |= CLONE_NEWUSER;
    child.egress_link = spec.egress ? link_child.get() : -1;
    child.drop_to_uid = root ? std::optional<uid_t>(uid) : std::nullopt;
    child.parent = ::getpid();
    // Nor larger than this; at most the limit this process has, which the child could not raise
    // once it has dropped its uid (a review: under `ulimit -f` every run failed).
    child.max_file_size =
        spec.max_file_size_bytes ? host::capped(RLIMIT_FSIZE, spec.max_file_size_bytes).value : 0;
    // QEMU's descriptors (qemu_command.hpp), sources and numbers: the tap (made in the child),
    // the agent's end, the state, the shares.
    child.sources = {-1, agent_child.get(), state_fd};
    child.targets = {kEgressTapFd, kAgentFd, kStateFd};
    for (size_t i = 0; i < spec.shares.size(); ++i) {
        child.sources.push_back(spec.shares[i].fd);
        child.targets.push_back(kShareFdBase + static_cast<int>(i));
    }
    child.above = kShareFdBase + static_cast<int>(spec.shares.size());
    child.dir = dir.c_str();
    child.argv = argv.data();

    const pid_t pid = ::fork();
    if (pid < 0) return host::sys_failure("fork", errno);
    if (pid == 0) exec_qemu(child);
    sync_child.reset();
    link_child.reset();   // the child's end: EOF here once the child exits or execs without sending
    agent_child.reset();  // QEMU's alone: the host's end sees EOF when QEMU is gone
    std::unique_ptr<QemuVm> vm(new QemuVm(dir, host::ChildProcess::adopt(pid), uid, std::move(uid_lease)));
    remove_dir.dismiss();
    vm->log_ = std::move(log_fd);
    vm->agent_ = std::move(agent_host);
    // Closing sync_parent without the go byte ends the child (it exits 125) on every return below.
    if (cgroup) {
        if (auto placed = cgroup->place(pid); !placed) {
            return fail(Failure::Kind::SetupError, "cannot place QEMU in its cgroup: " + placed.error().message);
        }
    }
    const char go = 1;
    const bool started = ::write(sync_parent.get(), &go, 1) == 1;
    sync_parent.reset();
    if (!started) return fail(Failure::Kind::SetupError, "cannot start QEMU");
    if (spec.egress) {
        auto listener = host::receive_fd(link_host.get(), "egress listener", std::chrono::seconds(10));
        if (!listener || !*listener) {
            vm->stop();  // reaps the child, so its log is complete
            const std::string why = vm->stderr_text();
            const std::string what = listener ? "no egress listener came" : listener.error().message;
            return fail(Failure::Kind::SetupError, "QEMU's network link: " + what + (why.empty() ? "" : ": " + why));
        }
        vm->egress_listener_ = std::move(**listener);
    }
    return vm;
}

std::string QemuVm::stderr_text() const {
    std::string out(4096, '\0');
    ssize_t n = log_.valid() ? ::pread(log_.get(), out.data(), out.size(), 0) : -1;
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\0')) out.pop_back();
    return out;
}

Expected<host::UniqueFd> QemuVm::connect_socket(const char* name, Clock::time_point deadline) {
    const std::string path = dir_ + "/" + name;
    const std::optional<sockaddr_un> addr = host::unix_address(path);
    if (!addr) return fail(Failure::Kind::SetupError, "socket path too long: " + path);
    for (;;) {
        host::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!fd.valid()) return host::sys_failure("socket", errno);
        if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) == 0) return fd;
        if (auto exit = qemu_.try_wait()) {
            reaped(*exit);
            std::string why = stderr_text();
            return fail(Failure::Kind::SetupError,
                        "QEMU exited before its socket " + std::string(name) + " opened" +
                            (why.empty() ? std::string() : ": " + why));
        }
        if (Clock::now() >= deadline) {
            return fail(Failure::Kind::SetupError, "QEMU's socket " + std::string(name) + " did not open in time");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

std::string QemuVm::exit_reason(std::chrono::milliseconds wait) {
    const auto until = Clock::now() + wait;
    while (qemu_.running()) {
        if (auto exit = qemu_.try_wait()) {
            reaped(*exit);
            break;
        }
        if (Clock::now() >= until) return {};
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::string why = stderr_text();
    return why.empty() ? "QEMU exited" : "QEMU exited: " + why;
}

std::chrono::nanoseconds QemuVm::stop() {
    if (qemu_.running()) {
        qemu_.kill();
        reaped(qemu_.wait());
    }
    return cpu_;
}

QemuVm::~QemuVm() {
    stop();
    // What QEMU's uid could have written there, a tree of any depth, by descriptor.
    host::remove_tree(dir_);
}

size_t sweep_vm_dirs(const std::string& state_dir) {
    return host::remove_dirs_of_dead_owners(state_dir, kVmDirPrefix);
}

}  // namespace microvm::qemu
