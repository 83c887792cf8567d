#include "gvisor/live_container.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <iterator>

#include "gvisor/exec_record.hpp"
#include "gvisor/launch_format.hpp"
#include "gvisor/launch_message.hpp"
#include "gvisor/oci_mounts.hpp"
#include "gvisor/oci_spec.hpp"
#include "gvisor/runtime.hpp"
#include "host/child_process.hpp"
#include "host/full_memory_mounts.hpp"
#include "host/program_files.hpp"
#include "microvm/random.hpp"
#include "host/rootfs.hpp"
#include "microvm/guest_protocol.hpp"
#include "microvm/utf8.hpp"
#include "host/file_identity.hpp"

namespace microvm::gvisor {
namespace {

// The CPUs this process (and so runsc, born of it) may run on: at least one.
double usable_cpus() {
    cpu_set_t set;
    if (::sched_getaffinity(0, sizeof set, &set) != 0) return 1.0;
    return std::max(1, CPU_COUNT(&set));
}

// runsc exits 128 when it fails itself (and logs why); a program's own exit code otherwise,
// 128+N when a signal ended it.
constexpr int kRunscFailure = 128;

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
        return fail(Failure::Kind::SetupError, "runsc run " + host::describe_wait_status(e.wait_status));
    } else if (std::string errors = code == kRunscFailure ? bundle.runsc_errors() : std::string();
               !errors.empty()) {
        // (The log is read only then: it holds a few hundred lines of runsc's own.)
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

Expected<void> check_request(const host::SandboxRequest& req) {
    if (req.program.empty() || req.program.front() != '/') {
        return fail(Failure::Kind::InvalidInput, "program path must be absolute");
    }
    return require_utf8(req);
}

// A path naming this process's network namespace for runsc (a child, which opens it itself):
// /proc/PID/ns/net, checked to be the same namespace, since a /proc of another pid namespace
// names another process by this pid (red team, 2026-12-05: under `unshare --pid` it named pid 1's).
Expected<std::string> own_network_namespace_path() {
    const std::string path = "/proc/" + std::to_string(::getpid()) + "/ns/net";
    const std::optional<host::FileIdentity> named = host::identity_at(path);
    if (!named || named != host::identity_at("/proc/thread-self/ns/net"))
        return fail(Failure::Kind::SetupError,
                    "cannot name this process's network namespace for runsc: " + path +
                        " is not it (/proc belongs to another pid namespace); network full needs /proc of this one");
    return path;
}

std::vector<std::string> program_argv(const host::SandboxRequest& req) {
    std::vector<std::string> argv = req.argv;
    if (req.guest) {
        argv.push_back(guest::kResultFileFlag);
        argv.push_back(std::string(kGuestResultDir) + "/" + kGuestResultFile);
    }
    return argv;
}

Expected<std::unique_ptr<LiveContainer>> LiveContainer::build(
    const ContainerHost& host, const host::SandboxRequest& req,
    const std::optional<std::string>& launcher) {
    host::RootfsRequest root_request;
    root_request.policy = req.fs_policy;
    root_request.runtime_dirs = req.runtime_dirs;
    root_request.tmp_size_bytes = req.limits.memory_bytes;
    if (req.fs_policy.kind != FileSystemPolicy::Kind::Full) {
        RTFS_TRY(root_request.program_files, host::program_files(req.program, host::granted_paths(req.fs_policy)));
    }
    RTFS_TRY(host::RootfsPlan plan, host::plan_rootfs(root_request));
    if (plan.host_root) {
        // Full: no host memory file system the sandbox could write stays shared with it; the
        // private ones are tmpfs mounts of the sentry, charged to the execution's cgroup.
        RTFS_TRY(const std::vector<host::MountEntry> table, host::read_mountinfo_or_fail());
        std::vector<host::Mount> memory = host::full_memory_mounts(table, plan.mounts, req.limits.memory_bytes);
        plan.mounts.insert(plan.mounts.end(), memory.begin(), memory.end());
        RTFS_CHECK(host::check_program_outside_private_mounts(req.program, plan.mounts));
    }

    std::unique_ptr<LiveContainer> c(new LiveContainer());
    c->host_ = host;
    host::CgroupLimits limits = req.limits;
    limits.max_pids = static_cast<uint32_t>(
        std::min<uint64_t>(host_task_budget(req.limits.max_pids), UINT32_MAX));
    // The boot (the sentry and the gofer starting, in parallel) is runsc's work, not the
    // program's: at a program's share of one core it was throttled ~70 ms of a ~330 ms run
    // (issue 15). With a launcher, whose program starts only with the launch message, it boots
    // at every usable CPU; launch() sets the program's share before sending that message.
    if (launcher) limits.cpu_fraction = host::setup_cpu_share(*host.cgroups, usable_cpus(), req.limits.cpu_fraction);
    RTFS_TRY(c->cgroup_, host.cgroups->create(limits));
    c->name_ = c->cgroup_->name();

    RTFS_TRY(c->bundle_, Bundle::create(host.state->bundles(), c->name_, req.guest));
    RTFS_TRY(OciFilesystem filesystem,
             oci_filesystem(plan, c->bundle_->rootfs(), c->bundle_->result_dir()));
    RTFS_CHECK(c->bundle_->add_root_symlinks(filesystem.root_symlinks));

    ContainerSpec spec;
    if (launcher) {
        c->launcher_ = true;
        RTFS_TRY(OciMount launcher_bind, file_bind(*launcher, kLauncherPathInside));
        filesystem.mounts.push_back(std::move(launcher_bind));
        spec.argv = {kLauncherPathInside};  // no environment: runsc adds HOME alone
    } else {
        spec.argv = program_argv(req);
        spec.env = req.env;
    }
    std::copy_if(filesystem.mounts.begin(), filesystem.mounts.end(), std::back_inserter(c->binds_),
                 [](const OciMount& m) { return m.type == "bind"; });
    if (host.test_hooks && host.test_hooks->after_check) host.test_hooks->after_check();
    // From here on runsc sees only the checked objects, staged where nobody else can swap them.
    RTFS_CHECK(c->bundle_->stage_binds(filesystem.mounts));
    spec.filesystem = std::move(filesystem);
    spec.network_namespace = !req.host_network;
    // The host's namespace, as this process sees it (alive for as long as runsc runs): the
    // sandbox joins it, while runsc itself starts in a namespace of its own.
    if (req.host_network) {
        RTFS_TRY(spec.host_network_namespace, own_network_namespace_path());
    }
    spec.memory_bytes = req.limits.memory_bytes;
    spec.cpu_fraction = req.limits.cpu_fraction;
    spec.host_tasks = limits.max_pids;
    spec.max_processes = req.limits.max_pids;
    spec.max_open_files = host.max_open_files;
    spec.max_file_size_bytes = host.max_file_size_bytes;
    spec.seccomp_filter = req.seccomp_filter;
    RTFS_CHECK(c->bundle_->write_config(oci_config(spec)));

    c->start_.id = c->name_;
    c->start_.bundle_dir = c->bundle_->dir();
    c->start_.log_path = c->bundle_->log_path();
    c->start_.host_network = req.host_network;
    c->start_.cgroup_fd = c->cgroup_->clone_fd();
    c->start_.cgroup_join_fds = c->cgroup_->self_join_fds();
    return c;
}

bool LiveContainer::binds_unchanged() const {
    return bind_sources_unchanged(binds_);
}

LiveContainer::~LiveContainer() {
    tear_down();
}

void LiveContainer::tear_down() {
    if (runsc_) {
        cgroup_->kill_all();
        runsc_.reset();  // kills runsc run (if still alive) and reaps it
    }
    if (cgroup_) {
        host_.state->remove_container_state(name_);
        cgroup_.reset();  // kills anything left in it and removes it
    }
    bundle_.reset();
}

Expected<void> LiveContainer::start() {
    if (host_.test_hooks && host_.test_hooks->before_runsc) host_.test_hooks->before_runsc();
    RTFS_TRY(StartedContainer started, StartedContainer::start(*host_.runsc, start_));
    runsc_.emplace(std::move(started));
    return Ok{};
}

rtfs::Expected<void, NotAnnounced> LiveContainer::await_launcher(std::chrono::steady_clock::time_point deadline,
                                                                 int cancel_fd) {
    auto ready = runsc_->read_stdout_prefix({kReadyMarker, kReadyMarkerBytes}, deadline, cancel_fd);
    if (ready) return ready;
    NotAnnounced why = std::move(ready).error();
    if (std::string errors = bundle_->runsc_errors(); !errors.empty()) why.message += ": runsc: " + errors;
    return rtfs::unexpected(std::move(why));
}

Expected<host::SandboxReport> LiveContainer::boot_ended(const host::SandboxRequest& req,
                                                        std::chrono::steady_clock::time_point since,
                                                        NotAnnounced why) {
    using End = host::SandboxReport::End;
    // At the deadline or a cancel finish() kills and reports it, and at runsc's end it reaps and
    // classifies it; a launcher that said something else is not let run on.
    if (why.cause == NotAnnounced::Cause::Other) cgroup_->kill_all();
    Expected<host::SandboxReport> report = finish(req, std::nullopt, since, /*ran_before=*/false);
    if (report && report->end != End::Exited && report->end != End::Signaled) return report;
    return fail(Failure::Kind::SetupError, std::move(why.message));
}

Expected<host::SandboxReport> LiveContainer::launch(const host::SandboxRequest& req) {
    RTFS_CHECK(check_request(req));
    RTFS_TRY(std::string message, encode_launch(program_argv(req), req.env));
    return launch(req, std::move(message));
}

Expected<host::SandboxReport> LiveContainer::launch(const host::SandboxRequest& req, std::string message) {
    RTFS_CHECK(cgroup_->limit_cpu(req.limits.cpu_fraction));
    cgroup_->restart_measurements();
    exec_nonce_ = microvm::random_hex(kExecNonceBytes / 2);
    message += exec_nonce_;
    if (req.stdin_data) message += *req.stdin_data;
    return finish(req, std::move(message), std::chrono::steady_clock::now(), /*ran_before=*/true);
}

Expected<host::SandboxReport> LiveContainer::finish(const host::SandboxRequest& req,
                                                    std::optional<std::string> stdin_data,
                                                    std::chrono::steady_clock::time_point since,
                                                    bool ran_before) {
    ContainerAttach attach;
    attach.stdin_data = std::move(stdin_data);
    attach.timeout = req.timeout;
    attach.max_output_bytes = req.max_output_bytes;
    host::SandboxCgroup* cg = cgroup_.get();
    attach.on_tick = [cg] { cg->sample(); };
    attach.kill_cgroup = [cg] { cg->kill_all(); };
    attach.on_output = req.on_output;
    attach.cancel_fd = req.cancel.wait_fd();
    // The launcher's record of a failed execve is seen whole and never passes for the program's
    // output (exec_record.hpp).
    std::optional<ExecRecordHold> hold;
    if (launcher_) {
        attach.max_output_bytes = std::max(req.max_output_bytes, kMaxExecRecordBytes);
        if (req.on_output) {
            hold.emplace(req.on_output, req.max_output_bytes, exec_nonce_);
            attach.on_output = [&hold](OutputStream stream, std::string_view chunk) { (*hold)(stream, chunk); };
        }
    }
    ContainerExit e = runsc_->finish(attach, since);
    runsc_.reset();

    // runsc's state files (left when runsc run was killed at a timeout: its sandbox and gofer
    // died with it), the cgroup (whose removal kills anything left) and the bundle go in the
    // teardown, after the result.
    host::CgroupUsage usage = cgroup_->usage();
    Expected<host::SandboxReport> classified = classify(e, usage, *bundle_);
    if (launcher_ && classified) settle_launcher_output(*classified, e.out, e.err, req.max_output_bytes, req.program, exec_nonce_);
    if (hold && !(classified && classified->end == host::SandboxReport::End::ExecFailed)) hold->release();
    if (!classified) return classified;
    host::SandboxReport o = std::move(*classified);
    o.wall = e.wall;
    if (usage.cpu_time) {
        o.cpu_time = *usage.cpu_time;
    } else if (!ran_before) {
        o.cpu_time = e.rusage_cpu;
    }
    o.cpu_throttling = usage.cpu_throttling;  // of the whole sandbox: sentry, gofer, program
    o.memory_peak_bytes = usage.memory_peak_bytes;
    o.stdout_data = std::move(e.out);
    o.stderr_data = std::move(e.err);
    if (auto frame = bundle_->read_result(req.max_result_bytes); frame) {
        o.result = host::CapturedStream{std::move(frame->data), frame->truncated};
    }
    return o;
}

}  // namespace microvm::gvisor
