#include "gvisor/runtime.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "gvisor/launch_message.hpp"
#include "gvisor/live_container.hpp"
#include "host/prepared_live_run.hpp"
#include "gvisor/probe_cache.hpp"
#include "gvisor/runsc.hpp"
#include "gvisor/state_dir.hpp"
#include "host/cgroup.hpp"
#include "host/deferred_teardown.hpp"
#include "host/trusted_state.hpp"
#include "microvm/trusted_path.hpp"

namespace microvm::gvisor {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kProbeTimeout = 10s;
// A sandbox built ahead boots like a fresh one (~150-300 ms); much more means a wedged runsc.
constexpr auto kPrepareTimeout = 30s;

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
    // Shared with the containers (ContainerHost), which may outlive the Runtime.
    std::shared_ptr<host::CgroupManager> cgroups;
    std::shared_ptr<StateDir> state;
    std::shared_ptr<Runsc> runsc;
    // Finished containers end here; shared with the containers built ahead.
    std::shared_ptr<host::DeferredTeardown> teardown = std::make_shared<host::DeferredTeardown>();
    std::shared_ptr<const BindWindowHooks> test_hooks;  // tests only
    ContainerHost container_host() const;
};

Runtime::Runtime() : impl_(std::make_unique<Impl>()) {}
// Finished containers still being torn down end before the backend: its users (a provider's
// cleanup) count on nothing of theirs being left.
Runtime::~Runtime() { impl_->teardown->wait_idle(); }

Expected<std::unique_ptr<Runtime>> Runtime::create(const RuntimeSettings& settings) {
    if (::geteuid() != 0) {
        return fail(Failure::Kind::SetupError,
                    "runsc needs root here (runsc's rootless mode weakens the sandbox and is not "
                    "used)");
    }
    // runsc state, bundles and the probe record live there; nobody else may be able to plant them.
    RTFS_TRY(const std::string real_base, trusted_real_path(settings.state_base, "gvisor state_dir"));
    // Its microvm-gvisor* entries are protected by name in /run only; elsewhere, another run's
    // settings must know the directory too (host/trusted_state.hpp).
    if (real_base != "/run") {
        RTFS_CHECK(host::require_protected_state_place(settings.state_base, "state_dir"));
    }
    std::unique_ptr<Runtime> rt(new Runtime());
    Impl& impl = *rt->impl_;
    impl.settings = settings;
    RTFS_TRY(impl.runsc_binary, find_runsc(settings.runsc));
    RTFS_TRY(impl.cgroups, host::detect_cgroups(settings.cgroup_parent, kNamePrefix));
    RTFS_TRY(impl.state, StateDir::create(settings.state_base));
    auto use_platform = [&](const std::string& platform) {
        impl.platform = platform;
        impl.runsc = std::make_shared<Runsc>(
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
        // A core, as far as the cgroup parent allows: v1 refuses more than an ancestor's quota.
        probe.limits.cpu_fraction = host::setup_cpu_share(*impl.cgroups, 1.0, host::kMinCpuFraction);
        auto outcome = rt->run(probe);
        // The probe's container, cgroup and bundle are gone before the runtime is handed on:
        // their teardown, deferred to another thread, still ran as the first user of this
        // runtime looked at what it held (a test counted the probe's bundle as its own).
        impl.teardown->wait_idle();
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

void Runtime::set_bind_window_hooks_for_tests(BindWindowHooks hooks) {
    impl_->test_hooks = std::make_shared<const BindWindowHooks>(std::move(hooks));
}

size_t Runtime::sweep_stale() const {
    // Cgroups first: that kills whatever of a dead host might still run in them.
    size_t removed = impl_->cgroups->sweep_stale();
    return removed + sweep_stale_state_dirs(impl_->settings.state_base);
}

ContainerHost Runtime::Impl::container_host() const {
    return {runsc, cgroups, state, settings.max_open_files, settings.max_file_size_bytes,
            test_hooks};
}

Expected<host::SandboxReport> Runtime::run(const host::SandboxRequest& req) const {
    RTFS_CHECK(check_request(req));
    // Through the launcher where one is installed (and the settings allow) and the launch
    // message holds the program's argv and env, so that the boot is not held to the program's
    // CPU share (LiveContainer::build): booted within the run's timeout, then launched at once
    // as a sandbox built ahead. Otherwise `runsc run` runs the program itself, measured from
    // runsc's start. A $MICROVM_GVISOR_LAUNCHER refused fails the run: never silently skipped.
    std::optional<std::string> launcher;
    std::string message;
    if (impl_->settings.one_shot_launcher) {
        RTFS_TRY(std::optional<std::string> found, find_launcher());
        if (found) {
            if (auto encoded = encode_launch(program_argv(req), req.env)) {
                launcher = std::move(*found);
                message = std::move(*encoded);
            }
        }
    }
    RTFS_TRY(std::unique_ptr<LiveContainer> container, LiveContainer::build(impl_->container_host(), req, launcher));
    const auto since = Clock::now();
    RTFS_CHECK(container->start());
    Expected<host::SandboxReport> report = [&]() -> Expected<host::SandboxReport> {
        if (!launcher) return container->finish(req, req.stdin_data, since, /*ran_before=*/false);
        if (auto ready = container->await_launcher(since + req.timeout, req.cancel.wait_fd()); !ready) {
            return container->boot_ended(req, since, std::move(ready).error());
        }
        return container->launch(req, std::move(message));
    }();
    impl_->teardown->dispose(std::move(container));
    return report;
}

Expected<std::unique_ptr<host::PreparedRun>> Runtime::prepare(
    const host::SandboxRequest& shape) const {
    RTFS_CHECK(check_request(shape));
    RTFS_TRY(std::string launcher, require_launcher());
    RTFS_TRY(std::unique_ptr<LiveContainer> container,
             LiveContainer::build(impl_->container_host(), shape, launcher));
    RTFS_CHECK(container->start());
    if (auto ready = container->await_launcher(Clock::now() + kPrepareTimeout); !ready) {
        return fail(Failure::Kind::SetupError, std::move(ready).error().message);
    }
    return host::prepared_live_run(std::move(container), shape, impl_->teardown);
}

}  // namespace microvm::gvisor
