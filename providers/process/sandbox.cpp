#include "process/sandbox.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>

#include "host/boot_cache.hpp"
#include "process/bind_trees.hpp"
#include "process/child_plan_builder.hpp"
#include "process/namespaces.hpp"
#include "host/egress.hpp"
#include "host/fd_passing.hpp"
#include "host/program_files.hpp"
#include "host/rootfs.hpp"
#include "process/sandbox_report.hpp"
#include "process/seccomp.hpp"
#include "host/sys_error.hpp"
#include "host/unique_fd.hpp"

namespace microvm::process {
using host::CgroupLimits;
using host::CgroupUsage;
using host::SandboxCgroup;
using host::CgroupManager;
using host::detect_cgroups;
using host::RootfsPlan;
using host::RootfsRequest;
using host::plan_rootfs;
using host::program_files;
using host::CaptureTargets;
using host::Captured;
using host::capture_until_exit;
using host::sandbox_rlimits;

using host::UniqueFd;
using host::Pipe;
using host::make_pipe;
using host::set_nonblocking;
using host::sys_failure;
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kProbeRecord = "process-namespaces.probe";

// Where the new root is attached before pivot_root, inside the sandbox's private mount
// namespace (the host never sees it): any real directory of the host tree will do.
std::string pick_attach_dir() {
    for (const char* dir : {"/tmp", "/mnt", "/var/tmp", "/run", "/srv", "/opt", "/usr"}) {
        struct stat st;
        if (::lstat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return dir;
    }
    return {};
}

int read_last_capability() {
    std::ifstream in("/proc/sys/kernel/cap_last_cap");
    int last = 40;
    in >> last;
    return last;
}

void kill_init(int pidfd, pid_t pid) {
    if (::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0) != 0) ::kill(pid, SIGKILL);
}

// Reaps the init; its rusage includes every descendant it reaped.
int reap(pid_t pid, struct rusage& usage) {
    int status = 0;
    while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
    }
    return status;
}

}  // namespace

struct Sandbox::Impl {
    SandboxSettings settings;
    std::unique_ptr<CgroupManager> cgroups;
    SeccompFilter seccomp;  // every network policy but full
    // AF_UNIX sockets allowed (network policy full): compiled on first use.
    mutable std::once_flag full_network_once;
    mutable std::optional<Expected<SeccompFilter>> seccomp_full_network;
    IdMapping ids;
    std::vector<ChildRlimit> rlimits;
    int last_capability = 40;
    std::string attach_dir;
    UniqueFd dev_null;
    bool clone_trees_here = false;  // root: binds are cloned by the host (bind_trees.hpp)
    std::unique_ptr<IdmapNamespaces> idmaps;
};

Sandbox::Sandbox() : impl_(std::make_unique<Impl>()) {}
Sandbox::~Sandbox() = default;

Expected<std::unique_ptr<Sandbox>> Sandbox::create(const SandboxSettings& settings) {
    std::unique_ptr<Sandbox> sb(new Sandbox());
    Impl& impl = *sb->impl_;
    impl.settings = settings;
    RTFS_TRY(impl.cgroups, detect_cgroups(settings.cgroup_parent));
    RTFS_TRY(impl.seccomp, SeccompFilter::build_cached(/*unix_sockets=*/false));
    impl.ids = IdMapping::for_this_process();
    impl.rlimits = sandbox_rlimits(settings.rlimits);
    impl.last_capability = read_last_capability();
    impl.attach_dir = pick_attach_dir();
    if (impl.attach_dir.empty()) {
        return fail(Failure::Kind::SetupError, "no directory to attach a sandbox root to");
    }
    impl.dev_null.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!impl.dev_null.valid()) return sys_failure("open /dev/null", errno);
    impl.clone_trees_here = impl.ids.host_is_root && host_can_clone_trees();
    impl.idmaps = std::make_unique<IdmapNamespaces>(impl.ids.outside_uid, impl.ids.outside_gid);
    return sb;
}

const SandboxSettings& Sandbox::settings() const {
    return impl_->settings;
}

size_t Sandbox::sweep_stale() const {
    return impl_->cgroups->sweep_stale();
}

std::string Sandbox::describe() const {
    return impl_->cgroups->describe() + ", seccomp filters of " +
           std::to_string(impl_->seccomp.instruction_count()) + " instructions";
}

namespace {

// The descriptors of one execution; the child's ends are closed in the host once it runs.
struct SandboxPipes {
    Pipe sync;    // host -> init: go (ids mapped); its hang-up: the host died
    Pipe report;  // init -> host: ChildReport records
    Pipe out, err;
    Pipe result;  // the guest runner's fd 3
    Pipe input;   // stdin data
    UniqueFd egress_host, egress_child;  // allow/block lists: the init sends its listener here

    static Expected<SandboxPipes> make(const host::SandboxRequest& spec) {
        SandboxPipes p;
        RTFS_TRY(p.sync, make_pipe());
        RTFS_TRY(p.report, make_pipe());
        RTFS_TRY(p.out, make_pipe());
        RTFS_TRY(p.err, make_pipe());
        if (spec.guest) {
            RTFS_TRY(p.result, make_pipe());
        }
        if (spec.stdin_data) {
            RTFS_TRY(p.input, make_pipe());
            RTFS_CHECK(set_nonblocking(p.input.write.get()));
        }
        if (spec.egress) {
            int pair[2];
            if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
                return sys_failure("socketpair for the egress listener", errno);
            }
            p.egress_host.reset(pair[0]);
            p.egress_child.reset(pair[1]);
        }
        return p;
    }

    void give_to_child(ChildFds& fds, int dev_null) const {
        fds.sync = sync.read.get();
        fds.report = report.write.get();
        fds.stdin_fd = input.read.valid() ? input.read.get() : dev_null;
        fds.stdout_fd = out.write.get();
        fds.stderr_fd = err.write.get();
        fds.result = result.write.valid() ? result.write.get() : -1;
        fds.egress = egress_child.valid() ? egress_child.get() : -1;
    }

    void close_child_ends() {
        report.write.reset();
        out.write.reset();
        err.write.reset();
        result.write.reset();
        sync.read.reset();
        input.read.reset();
        egress_child.reset();
    }
};

// Receives the listening socket the init bound inside the sandbox's network namespace and gives
// it to the execution's egress proxy. The init sends it before the program exists; end of input
// (the init failed, and says why on the report pipe) or the deadline leaves the sandbox without
// a way out, which is still closed.
Expected<void> take_egress_listener(int from_init, host::EgressSession& egress,
                                    Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    RTFS_TRY(std::optional<host::UniqueFd> listener,
             host::receive_fd(from_init, "egress listener from the sandbox's init", std::max(left, std::chrono::milliseconds(0))));
    if (!listener) return Ok{};  // the init ended first, or the deadline came
    return egress.adopt_listener(listener->release());
}

Expected<void> give_cgroup_to_child(const SandboxCgroup& cgroup, ChildFds& fds) {
    std::vector<int> join = cgroup.self_join_fds();
    if (join.size() > kMaxCgroupJoinFds) {
        return fail(Failure::Kind::SetupError, "too many cgroup hierarchies to join");
    }
    for (size_t i = 0; i < join.size(); ++i) fds.cgroup_join[i] = join[i];
    fds.cgroup_join_count = join.size();
    return Ok{};
}

}  // namespace

Expected<void> Sandbox::prepare(const host::SandboxRequest& spec, ChildPlanBuilder& builder) const {
    const Impl& impl = *impl_;
    if (spec.program.empty() || spec.program.front() != '/') {
        return fail(Failure::Kind::InvalidInput, "program path must be absolute");
    }
    // The root file system: what the policy allows plus what the program needs to start.
    RootfsRequest request;
    request.policy = spec.fs_policy;
    request.runtime_dirs = spec.runtime_dirs;
    request.tmp_size_bytes = spec.limits.memory_bytes;
    if (spec.fs_policy.kind != FileSystemPolicy::Kind::Full) {
        RTFS_TRY(request.program_files, program_files(spec.program));
    }
    RTFS_TRY(RootfsPlan rootfs, plan_rootfs(request));

    builder.set_rootfs(rootfs, impl.attach_dir);
    builder.set_program(spec.program, spec.argv, spec.env);
    builder.set_rlimits(impl.rlimits);
    if (spec.seccomp_filter && spec.host_network) {
        std::call_once(impl.full_network_once, [&] {
            impl.seccomp_full_network = impl.seccomp.with_unix_sockets(/*unix_sockets=*/true);
        });
        if (!*impl.seccomp_full_network) {
            return rtfs::unexpected(impl.seccomp_full_network->error());
        }
        builder.set_seccomp(**impl.seccomp_full_network);
    } else if (spec.seccomp_filter) {
        builder.set_seccomp(impl.seccomp);
    }
    ChildPlan& plan = builder.plan();
    plan.uid = impl.ids.inside_uid;
    plan.gid = impl.ids.inside_gid;
    plan.clear_groups = impl.ids.host_is_root;
    plan.new_network = !spec.host_network;
    if (spec.egress) plan.egress_port = host::kEgressPort;
    plan.last_capability = impl.last_capability;
    return Ok{};
}

Expected<host::SandboxReport> Sandbox::run(const host::SandboxRequest& spec) const {
    const Impl& impl = *impl_;
    ChildPlanBuilder builder;
    RTFS_CHECK(prepare(spec, builder));
    ChildPlan& plan = builder.plan();

    // The binds, cloned here from what the planner checked when the host may (kept open until
    // the init has its copies).
    std::vector<UniqueFd> trees;
    if (impl.clone_trees_here) {
        RTFS_TRY(trees, clone_bind_trees(builder, *impl.idmaps));
    }

    CgroupLimits limits = spec.limits;
    limits.max_pids += 1;  // the init
    RTFS_TRY(std::unique_ptr<SandboxCgroup> cgroup, impl.cgroups->create(limits));
    RTFS_TRY(SandboxPipes pipes, SandboxPipes::make(spec));
    pipes.give_to_child(plan.fds, impl.dev_null.get());
    RTFS_CHECK(give_cgroup_to_child(*cgroup, plan.fds));

    const auto started = Clock::now();
    // A root host gives the sandbox's namespaces an owner of their own (kernel budgets).
    const std::optional<uid_t> owner =
        impl.ids.host_is_root ? std::optional<uid_t>(new_namespace_owner()) : std::nullopt;
    RTFS_TRY(SpawnedInit init, spawn_init(sandbox_namespace_flags(!spec.host_network),
                                          cgroup->clone_fd(), plan, owner));
    pipes.close_child_ends();
    trees.clear();

    // Map the ids (and place the init in its cgroup when it could not be cloned there), then
    // let the init go. On success sync.write stays open until the end: the init reads its
    // hang-up as the host dying.
    auto placed = impl.ids.apply(init.pid);
    if (placed && owner) placed = cgroup->place(init.pid);
    if (placed) {
        char go = 1;
        if (::write(pipes.sync.write.get(), &go, 1) != 1) {
            placed = sys_failure("starting the sandbox", errno);
        }
    }
    if (placed && spec.egress) {
        placed = take_egress_listener(pipes.egress_host.get(), *spec.egress, started + spec.timeout);
    }
    if (!placed) {
        kill_init(init.pidfd.get(), init.pid);
        struct rusage ignored;
        reap(init.pid, ignored);
        return rtfs::unexpected(std::move(placed).error());
    }

    CaptureTargets targets;
    targets.stdout_fd = pipes.out.read.get();
    targets.stderr_fd = pipes.err.read.get();
    targets.result_fd = pipes.result.read.valid() ? pipes.result.read.get() : -1;
    targets.report_fd = pipes.report.read.get();
    if (spec.stdin_data) {
        targets.stdin_fd = std::move(pipes.input.write);
        targets.stdin_data = *spec.stdin_data;
    }
    targets.pidfd = init.pidfd.get();
    targets.max_output_bytes = spec.max_output_bytes;
    targets.max_result_bytes = spec.max_result_bytes;
    targets.deadline = started + spec.timeout;
    SandboxCgroup* cg = cgroup.get();
    targets.on_deadline = [&] {
        kill_init(init.pidfd.get(), init.pid);  // the kernel then kills the whole pid namespace
        cg->kill_all();
    };
    targets.on_tick = [cg] { cg->sample(); };
    targets.on_output = spec.on_output;
    targets.cancel_fd = spec.cancel.wait_fd();
    Captured captured = capture_until_exit(std::move(targets));

    if (!captured.exited) kill_init(init.pidfd.get(), init.pid);  // never wait unbounded
    struct rusage ru {};
    int init_status = reap(init.pid, ru);
    CgroupUsage usage = cgroup->usage();
    cgroup.reset();  // kills anything left (nothing: the pid namespace is gone) and removes it
    return make_report(std::move(captured), usage, ru, init_status, started, plan);
}

Availability Sandbox::probe() const {
    // Cgroups were found usable (controllers present, directories writable) by create(). A
    // child cloned into the namespaces proves those work; the network namespace, costly to
    // create and tear down, is checked by its limit instead.
    std::ifstream in("/proc/sys/user/max_net_namespaces");
    long max_net = -1;
    if (in >> max_net && max_net == 0) {
        return {false, "network namespaces are disabled (user.max_net_namespaces = 0)"};
    }
    // A success is remembered until the next boot for this binary and id mapping
    // (host/boot_cache.hpp): one-shot users would pay a namespace clone per execution for it. Should
    // namespaces be disabled later in the boot, the first run fails with the clone's own error.
    const nlohmann::json key = {{"binary", host::own_binary_identity()},
                                {"uid", impl_->ids.outside_uid},
                                {"gid", impl_->ids.outside_gid},
                                {"root", impl_->ids.host_is_root}};
    const auto dir = host::boot_cache_dir();
    if (dir && host::read_boot_record(*dir, kProbeRecord, key)) return {true, {}};
    auto spawned = spawn_probe(sandbox_namespace_flags(false), impl_->ids);
    if (!spawned) return {false, spawned.error().message};
    if (dir) host::write_boot_record(*dir, kProbeRecord, key, true);
    return {true, {}};
}

}  // namespace microvm::process
