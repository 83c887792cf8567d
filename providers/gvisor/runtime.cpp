#include "gvisor/runtime.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "gvisor/bundle.hpp"
#include "gvisor/container.hpp"
#include "gvisor/oci_mounts.hpp"
#include "gvisor/oci_spec.hpp"
#include "gvisor/probe_cache.hpp"
#include "microvm/trusted_path.hpp"
#include "gvisor/runsc.hpp"
#include "gvisor/state_dir.hpp"
#include "microvm/guest_protocol.hpp"
#include "microvm/utf8.hpp"
#include "host/cgroup.hpp"
#include "host/program_files.hpp"
#include "host/rootfs.hpp"

namespace microvm::gvisor {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// runsc exits 128 when it fails itself (and logs why); a program's own exit code otherwise,
// 128+N when a signal ended it.
constexpr int kRunscFailure = 128;
constexpr auto kProbeTimeout = 10s;

std::vector<std::string> platform_candidates(const std::string& binary, const std::string& wanted) {
    if (!wanted.empty()) return {wanted};
    std::vector<std::string> offered = runsc_platforms(binary);
    std::vector<std::string> candidates;
    // Never KVM: on hosts without usable nested virtualisation it hangs instead of failing.
    for (const char* p : {"systrap", "ptrace"}) {
        if (std::find(offered.begin(), offered.end(), p) != offered.end())
            candidates.emplace_back(p);
    }
    if (candidates.empty()) candidates.emplace_back("ptrace");
    return candidates;
}

std::string probe_program() {
    return ::access("/bin/true", X_OK) == 0 ? "/bin/true" : "/usr/bin/true";
}

std::string describe_status(int wait_status) {
    if (WIFSIGNALED(wait_status))
        return "was killed by signal " + std::to_string(WTERMSIG(wait_status));
    return "exited with code " + std::to_string(WEXITSTATUS(wait_status));
}

// How the program ended, from runsc's exit and the cgroup's counters; measurements are filled
// in by the caller.
Expected<host::SandboxReport> classify(const ContainerExit& e, const host::CgroupUsage& usage,
                                       const Bundle& bundle) {
    using End = host::SandboxReport::End;
    host::SandboxReport o;
    const bool exited_normally = WIFEXITED(e.wait_status);
    const int code = exited_normally ? WEXITSTATUS(e.wait_status) : -1;
    if (e.cancelled || e.timed_out) {
        o.end = e.cancelled ? End::Cancelled : End::TimedOut;
        o.signal = SIGKILL;
        o.exit_code = 128 + SIGKILL;
    } else if (usage.oom_kills > 0 && code != 0) {
        o.end = End::MemoryExceeded;
        o.signal = SIGKILL;
        o.exit_code = 128 + SIGKILL;
    } else if (usage.pids_limit_hits > 0 && code != 0) {
        // runsc's exit code is the sentry's (Go exits 2 when it cannot start a thread), not
        // the program's: the host's task cap stopped the sandbox.
        o.end = End::ProcessLimit;
        o.signal = SIGKILL;
        o.exit_code = 128 + SIGKILL;
    } else if (!exited_normally) {
        return fail(Failure::Kind::SetupError, "runsc run " + describe_status(e.wait_status));
    } else if (std::string errors = bundle.runsc_errors();
               code == kRunscFailure && !errors.empty()) {
        return fail(Failure::Kind::SetupError, "runsc: " + errors);
    } else if (code > 128 && code <= 128 + 64) {
        o.end = End::Signaled;  // runsc reports a signal as 128+N, like a shell
        o.signal = code - 128;
        o.exit_code = code;
    } else {
        o.end = End::Exited;
        o.exit_code = code;
    }
    return o;
}

}  // namespace

uint64_t host_task_budget(uint32_t max_processes) {
    // Measured with runsc 2022 on ptrace: ~60 host tasks for an idle sandbox, ~9 more per
    // sleeping sandboxed process; leave room for threads of busy processes.
    return 256 + 16 * uint64_t{max_processes};
}

struct Runtime::Impl {
    RuntimeSettings settings;
    std::string runsc_binary;
    std::string platform;
    std::unique_ptr<host::CgroupManager> cgroups;
    std::unique_ptr<StateDir> state;
    std::unique_ptr<Runsc> runsc;
};

namespace {

// runsc reads its bundle as JSON, which holds only UTF-8 text: other bytes are refused here
// rather than altered or thrown on.
Expected<void> require_utf8(const host::SandboxRequest& req) {
    auto check = [](const std::string& text, const std::string& what) -> Expected<void> {
        if (is_valid_utf8(text)) return Ok{};
        return fail(Failure::Kind::InvalidInput,
                    what + " is not valid UTF-8, which gVisor's OCI runtime requires");
    };
    RTFS_CHECK(check(req.program, "the program path"));
    for (size_t i = 0; i < req.argv.size(); ++i) {
        RTFS_CHECK(check(req.argv[i], "argument " + std::to_string(i)));
    }
    for (const std::string& e : req.env) {
        RTFS_CHECK(check(e, "environment variable " + valid_utf8(e.substr(0, e.find('=')))));
    }
    for (const std::string& p : req.fs_policy.paths) RTFS_CHECK(check(p, "fs_policy path"));
    for (const std::string& d : req.runtime_dirs) RTFS_CHECK(check(d, "runtime directory"));
    return Ok{};
}

}  // namespace

Runtime::Runtime() : impl_(std::make_unique<Impl>()) {}
Runtime::~Runtime() = default;

Expected<std::unique_ptr<Runtime>> Runtime::create(const RuntimeSettings& settings) {
    if (::geteuid() != 0) {
        return fail(Failure::Kind::SetupError,
                    "runsc needs root here (runsc's rootless mode weakens the sandbox and is not "
                    "used)");
    }
    // runsc state, bundles and the probe record live there; nobody else may be able to plant them.
    RTFS_CHECK(trusted_real_path(settings.state_base, "gvisor state_dir"));
    std::unique_ptr<Runtime> rt(new Runtime());
    Impl& impl = *rt->impl_;
    impl.settings = settings;
    RTFS_TRY(impl.runsc_binary, find_runsc(settings.runsc));
    RTFS_TRY(impl.cgroups, host::detect_cgroups(settings.cgroup_parent, kNamePrefix));
    RTFS_TRY(impl.state, StateDir::create(settings.state_base));
    auto use_platform = [&](const std::string& platform) {
        impl.platform = platform;
        impl.runsc = std::make_unique<Runsc>(
            RunscSettings{impl.runsc_binary, platform, impl.state->runsc_root()});
    };

    const ProbeKey key{impl.runsc_binary, settings.platform, settings.cgroup_parent};
    if (auto platform = cached_platform(settings.state_base, key)) {
        use_platform(*platform);
        return rt;
    }
    std::string failures;
    for (const std::string& platform : platform_candidates(impl.runsc_binary, settings.platform)) {
        use_platform(platform);
        host::SandboxRequest probe;
        probe.program = probe_program();
        probe.argv = {probe.program};
        probe.env = {"PATH=/usr/bin:/bin"};
        probe.timeout = kProbeTimeout;
        probe.limits.memory_bytes = 256ull << 20;
        auto outcome = rt->run(probe);
        if (outcome && outcome->end == host::SandboxReport::End::Exited &&
            outcome->exit_code == 0) {
            remember_platform(settings.state_base, key, platform);
            return rt;
        }
        std::string why = !outcome ? outcome.error().message
                          : outcome->end == host::SandboxReport::End::TimedOut
                              ? "no result within " + std::to_string(kProbeTimeout.count()) + " s"
                              : "/bin/true ended with code " + std::to_string(outcome->exit_code) +
                                    (outcome->stderr_data.data.empty()
                                         ? std::string()
                                         : ": " + outcome->stderr_data.data.substr(0, 300));
        failures +=
            (failures.empty() ? "" : "; ") + std::string("platform ") + platform + ": " + why;
    }
    return fail(Failure::Kind::SetupError, "runsc probe failed: " + failures);
}

Availability Runtime::probe(const RuntimeSettings& settings) {
    auto runtime = create(settings);  // its state directory goes with it
    if (!runtime) return {false, runtime.error().message};
    return {true, {}};
}

const RuntimeSettings& Runtime::settings() const {
    return impl_->settings;
}
std::string Runtime::platform() const {
    return impl_->platform;
}

std::string Runtime::describe() const {
    return "runsc " + impl_->runsc_binary + " (platform " + impl_->platform + "), " +
           impl_->cgroups->describe() + ", state in " + impl_->state->path();
}

size_t Runtime::sweep_stale() const {
    // Cgroups first: that kills whatever of a dead host might still run in them.
    size_t removed = impl_->cgroups->sweep_stale();
    return removed + sweep_stale_state_dirs(impl_->settings.state_base);
}

Expected<host::SandboxReport> Runtime::run(const host::SandboxRequest& req) const {
    const Impl& impl = *impl_;
    if (req.program.empty() || req.program.front() != '/') {
        return fail(Failure::Kind::InvalidInput, "program path must be absolute");
    }
    RTFS_CHECK(require_utf8(req));
    host::RootfsRequest root_request;
    root_request.policy = req.fs_policy;
    root_request.runtime_dirs = req.runtime_dirs;
    root_request.tmp_size_bytes = req.limits.memory_bytes;
    if (req.fs_policy.kind != FileSystemPolicy::Kind::Full) {
        RTFS_TRY(root_request.program_files, host::program_files(req.program));
    }
    RTFS_TRY(host::RootfsPlan plan, host::plan_rootfs(root_request));

    host::CgroupLimits limits = req.limits;
    limits.max_pids =
        static_cast<uint32_t>(std::min<uint64_t>(host_task_budget(req.limits.max_pids), UINT32_MAX));
    RTFS_TRY(std::unique_ptr<host::SandboxCgroup> cgroup, impl.cgroups->create(limits));
    const std::string name = cgroup->name();  // also the container's and the bundle's name

    RTFS_TRY(std::unique_ptr<Bundle> bundle,
             Bundle::create(impl.state->bundles(), name, req.guest));
    RTFS_TRY(OciFilesystem filesystem,
             oci_filesystem(plan, bundle->rootfs(), bundle->result_dir()));
    RTFS_CHECK(bundle->add_root_symlinks(filesystem.root_symlinks));

    ContainerSpec spec;
    spec.argv = req.argv;
    if (req.guest) {
        spec.argv.push_back(guest::kResultFileFlag);
        spec.argv.push_back(std::string(kGuestResultDir) + "/" + kGuestResultFile);
    }
    spec.env = req.env;
    spec.filesystem = std::move(filesystem);
    spec.network_namespace = !req.host_network;
    spec.memory_bytes = req.limits.memory_bytes;
    spec.cpu_fraction = req.limits.cpu_fraction;
    spec.host_tasks = limits.max_pids;
    spec.max_processes = req.limits.max_pids;
    spec.max_open_files = impl.settings.max_open_files;
    spec.max_file_size_bytes = impl.settings.max_file_size_bytes;
    spec.seccomp_filter = req.seccomp_filter;
    RTFS_CHECK(bundle->write_config(oci_config(spec)));

    ContainerLaunch launch;
    launch.id = name;
    launch.bundle_dir = bundle->dir();
    launch.log_path = bundle->log_path();
    launch.host_network = req.host_network;
    launch.stdin_data = req.stdin_data;
    launch.timeout = req.timeout;
    launch.max_output_bytes = req.max_output_bytes;
    host::SandboxCgroup* cg = cgroup.get();
    launch.on_tick = [cg] { cg->sample(); };
    launch.cgroup_fd = cg->clone_fd();
    launch.cgroup_join_fds = cg->self_join_fds();
    launch.kill_cgroup = [cg] { cg->kill_all(); };
    launch.on_output = req.on_output;
    launch.cancel_fd = req.cancel.wait_fd();
    auto exited = run_container(*impl.runsc, launch);

    host::CgroupUsage usage = cgroup->usage();
    // When runsc run was killed (the timeout) it could not delete its container: its sandbox and
    // gofer died with it (and the cgroup below kills anything left), so only its state files
    // remain. Never `runsc delete`: it would signal the recorded sandbox pid, reused by then.
    impl.state->remove_container_state(name);
    cgroup.reset();  // kills anything left in it and removes it
    if (!exited) return rtfs::unexpected(std::move(exited).error());
    ContainerExit& e = *exited;

    RTFS_TRY(host::SandboxReport o, classify(e, usage, *bundle));
    o.wall = e.wall;
    o.cpu_time = usage.cpu_time ? *usage.cpu_time : e.rusage_cpu;
    o.memory_peak_bytes = usage.memory_peak_bytes;
    o.stdout_data = std::move(e.out);
    o.stderr_data = std::move(e.err);
    if (auto frame = bundle->read_result(req.max_result_bytes); frame) {
        o.result = host::CapturedStream{std::move(frame->data), frame->truncated};
    }
    return o;
}

}  // namespace microvm::gvisor
