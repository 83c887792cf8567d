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

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>

#include "host/boot_cache.hpp"
#include "host/deferred_teardown.hpp"
#include "process/bind_trees.hpp"
#include "host/checked_tree.hpp"
#include "host/paths.hpp"
#include "process/child_plan_builder.hpp"
#include "process/live_sandbox.hpp"
#include "host/prepared_live_run.hpp"
#include "process/namespaces.hpp"
#include "host/egress.hpp"
#include "host/fd_passing.hpp"
#include "host/full_memory_mounts.hpp"
#include "host/mountinfo.hpp"
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

// Full keeps the host's tree, but not its cgroup file systems: on a host that is not root, the
// control files of the sandbox's own cgroup, of every other sandbox's and of the user's cgroup
// are the user's, so the program (of the user's uid) raised its own memory limit, moved itself
// out of its cgroups, cut another sandbox's limit and set the user's pids.max to 2 (red team,
// 2026-12-04). An empty read-only tmpfs covers each cgroup mount (the topmost of nested ones).
void cover_cgroup_file_systems(RootfsPlan& rootfs, std::vector<host::MountEntry> mounts) {
    std::vector<std::string> covered;
    std::sort(mounts.begin(), mounts.end(),
              [](const host::MountEntry& a, const host::MountEntry& b) { return a.mount_point.size() < b.mount_point.size(); });
    for (const host::MountEntry& m : mounts) {
        if (m.fstype != "cgroup" && m.fstype != "cgroup2") continue;
        if (host::is_within_any(m.mount_point, covered)) continue;
        covered.push_back(m.mount_point);
        host::Mount cover{host::Mount::Kind::Tmpfs, "tmpfs", m.mount_point};
        cover.size_bytes = 4096;  // read-only and empty: the size only bounds the instance
        rootfs.mounts.push_back(std::move(cover));
    }
}

// Full keeps the host's tree, but not the host's shared budgets in it: a sandbox took every
// pseudo-terminal of the host's devpts (kernel.pty.max) and left RAM in its /dev/shm that no
// memory limit counted after the run (red team, 2026-12-04). Private instances of those the
// host has mounted replace them: a /dev/shm the size of the memory limit and charged to the
// sandbox's cgroup, a devpts of kPtysPerSandbox terminals (with /dev/ptmx), and the mqueue file
// system of the sandbox's own IPC namespace.
// The same holds for every other memory file system of the host the sandbox could write
// (host/full_memory_mounts.hpp): those go first, so that making one read-only (/dev) leaves
// the private instances mounted after it below it writable.
Expected<void> add_private_instances(RootfsPlan& rootfs, uint64_t memory_bytes) {
    const auto is_dir = [](const char* path) {
        struct stat st;
        return ::lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
    };
    if (is_dir("/dev/shm")) {
        host::Mount shm{host::Mount::Kind::Tmpfs, "tmpfs", "/dev/shm"};
        shm.writable = true;
        shm.size_bytes = memory_bytes;
        rootfs.mounts.push_back(std::move(shm));
    }
    if (is_dir("/dev/pts")) rootfs.mounts.push_back({host::Mount::Kind::Devpts, "devpts", "/dev/pts"});
    if (is_dir("/dev/mqueue")) rootfs.mounts.push_back({host::Mount::Kind::Mqueue, "mqueue", "/dev/mqueue"});
    RTFS_TRY(const std::vector<host::MountEntry> table, host::read_mountinfo_or_fail());
    cover_cgroup_file_systems(rootfs, table);
    std::vector<host::Mount> memory = host::full_memory_mounts(table, rootfs.mounts, memory_bytes);
    rootfs.mounts.insert(rootfs.mounts.begin(), memory.begin(), memory.end());
    return Ok{};
}

constexpr const char* kProbeRecord = "process-namespaces.probe";
// How long a sandbox built ahead may take to build (a loaded host takes a few ms).
constexpr std::chrono::seconds kReadyTimeout{30};

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
    // Used sandboxes end here, after their result (last: destroyed first, before the cgroups'
    // manager). Shared with the sandboxes built ahead, which may outlive this backend.
    std::shared_ptr<host::DeferredTeardown> teardown = std::make_shared<host::DeferredTeardown>();
};

Sandbox::Sandbox() : impl_(std::make_unique<Impl>()) {}
// Used sandboxes still being torn down end before the backend: its users (a provider's
// cleanup) count on nothing of theirs being left.
Sandbox::~Sandbox() { impl_->teardown->wait_idle(); }

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
    impl.clone_trees_here = impl.ids.host_is_root && host::can_clone_trees();
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
        RTFS_TRY(request.program_files, program_files(spec.program, host::granted_paths(spec.fs_policy)));
    }
    RTFS_TRY(RootfsPlan rootfs, plan_rootfs(request));
    if (rootfs.host_root) {
        RTFS_CHECK(add_private_instances(rootfs, spec.limits.memory_bytes));
        RTFS_CHECK(host::check_program_outside_private_mounts(spec.program, rootfs.mounts));
    }

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

Expected<std::unique_ptr<LiveSandbox>> Sandbox::start(const host::SandboxRequest& spec,
                                                      bool ahead) const {
    const Impl& impl = *impl_;
    auto live = std::make_unique<LiveSandbox>();
    live->builder = std::make_unique<ChildPlanBuilder>();
    RTFS_CHECK(prepare(spec, *live->builder));
    ChildPlan& plan = live->builder->plan();

    // The sandbox's host ids (namespaces.hpp), held by the LiveSandbox until it is gone.
    RTFS_TRY(live->identity, new_sandbox_identity(impl.ids));
    const IdMapping& ids = live->identity.ids;

    // The binds, cloned here from what the planner checked when the host may (kept open until
    // the init has its copies). A writable bind maps its owner to this sandbox's ids: its own
    // idmapping namespaces (the trees keep them; the descriptors can go).
    std::vector<UniqueFd> trees;
    if (impl.clone_trees_here) {
        IdmapNamespaces idmaps(ids.outside_uid, ids.outside_gid);
        RTFS_TRY(trees, clone_bind_trees(*live->builder, idmaps));
    }

    CgroupLimits limits = spec.limits;
    limits.max_pids += 1;  // the init
    RTFS_TRY(live->cgroup, impl.cgroups->create(limits));
    RTFS_TRY(live->pipes, SandboxPipes::make(spec, ahead));
    live->pipes.give_to_child(plan.fds, impl.dev_null.get());
    RTFS_CHECK(give_cgroup_to_child(*live->cgroup, plan.fds));

    live->spawned_at = Clock::now();
    // A root host gives the sandbox's namespaces an owner of their own (kernel budgets).
    const std::optional<uid_t> owner = live->identity.owner;
    RTFS_TRY(live->init, spawn_init(sandbox_namespace_flags(!spec.host_network),
                                    live->cgroup->clone_fd(), plan, owner));
    live->pipes.close_child_ends();
    trees.clear();

    // Map the ids (and place the init in its cgroup when it could not be cloned there), then
    // let the init go. On success sync.write stays open until the end: the init reads its
    // hang-up as the host dying. (Failures: the LiveSandbox kills and reaps the init.)
    RTFS_CHECK(ids.apply(live->init.pid()));
    if (owner) RTFS_CHECK(live->cgroup->place(live->init.pid()));
    char go = 1;
    if (::write(live->pipes.sync.write.get(), &go, 1) != 1) {
        return sys_failure("starting the sandbox", errno);
    }
    if (spec.egress) {
        RTFS_CHECK(take_egress_listener(live->pipes.egress_host.get(), *spec.egress,
                                        live->spawned_at + spec.timeout));
    }
    return live;
}

Expected<host::SandboxReport> Sandbox::run(const host::SandboxRequest& spec) const {
    RTFS_TRY(std::unique_ptr<LiveSandbox> live, start(spec, /*ahead=*/false));
    Expected<host::SandboxReport> report = live->supervise(spec, live->spawned_at);
    impl_->teardown->dispose(std::move(live));
    return report;
}

Expected<std::unique_ptr<host::PreparedRun>> Sandbox::prepare(const host::SandboxRequest& shape) const {
    if (shape.egress) {
        return fail(Failure::Kind::Unsupported,
                    "a sandbox with an egress proxy is not built ahead (the proxy is the "
                    "execution's own)");
    }
    RTFS_TRY(std::unique_ptr<LiveSandbox> live, start(shape, /*ahead=*/true));
    RTFS_CHECK(live->wait_ready(Clock::now() + kReadyTimeout));
    return host::prepared_live_run(std::move(live), shape, impl_->teardown);
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
    auto spawned = spawn_probe(sandbox_namespace_flags(false));
    if (!spawned) return {false, spawned.error().message};
    if (dir) host::write_boot_record(*dir, kProbeRecord, key, true);
    return {true, {}};
}

}  // namespace microvm::process
