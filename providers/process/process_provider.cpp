#include "process/process_provider.hpp"

#include <signal.h>

#include <cstring>

#include "microvm/guest_run.hpp"
#include "microvm/sandbox_ending.hpp"
#include "host/program_command.hpp"
#include "host/sandbox_settings.hpp"

namespace microvm {
namespace {

using process::SandboxOutcome;

Expected<process::SandboxSettings> parse_settings(const nlohmann::json& s) {
    process::SandboxSettings out;
    if (!s.is_object()) return fail(Failure::Kind::InvalidConfig, "settings must be an object");
    if (auto it = s.find("cgroup_parent"); it != s.end() && it->is_string()) {
        out.cgroup_parent = it->get<std::string>();
    }
    out.rlimits = host::parse_rlimit_settings(s);  // validated against config_schema()
    return out;
}

void copy_output(SandboxOutcome& o, ExecutionMetadata& m) {
    m.duration = o.wall;
    m.cpu_time = o.cpu_time;
    if (o.memory_peak_bytes)
        m.memory_peak_mb = static_cast<double>(*o.memory_peak_bytes) / (1 << 20);
    m.stdout_data = std::move(o.stdout_data.data);
    m.stderr_data = std::move(o.stderr_data.data);
    m.stdout_truncated = o.stdout_data.truncated;
    m.stderr_truncated = o.stderr_data.truncated;
    m.exit_code = o.exit_code;  // 128+N when a signal ended it, like a shell reports
    if (o.end != SandboxOutcome::End::Exited && o.end != SandboxOutcome::End::ExecFailed) {
        m.signal = o.signal;
    }
}

}  // namespace

ProcessProvider::ProcessProvider() = default;
ProcessProvider::~ProcessProvider() = default;

std::vector<ProgramKind> ProcessProvider::runs() const {
    return {ProgramKind::Rtfs, ProgramKind::External, ProgramKind::Script};
}

Availability ProcessProvider::availability() const {
    std::call_once(probed_, [this] {
        auto sandbox = process::Sandbox::create({});
        if (!sandbox) {
            availability_ = {false, sandbox.error().message};
            return;
        }
        availability_ = (*sandbox)->probe();
        std::lock_guard lock(probe_mu_);
        if (availability_.available) probed_sandbox_ = std::move(*sandbox);
    });
    return availability_;
}

nlohmann::json ProcessProvider::config_schema() const {
    nlohmann::json properties = {{"cgroup_parent",
               {{"type", "string"},
                {"description",
                 "cgroup (path from each hierarchy's root) under which sandbox cgroups are "
                 "created; default: the host process's own cgroup. With cgroup v2 it must be a "
                 "delegated cgroup holding no processes."}}}};
    properties.update(host::rlimit_settings_schema());
    return {{"type", "object"}, {"properties", properties}, {"additionalProperties", false}};
}

std::vector<Unsupported> ProcessProvider::check(const ExecutionContext& ctx) const {
    std::vector<Unsupported> problems = Provider::check(ctx);
    if (auto refused = host::refuse_host_lists(ctx.config.network_policy)) {
        problems.push_back(std::move(*refused));
    }
    if (auto refused = host::refuse_cpu_below_quota_floor(ctx.config.cpu_limit)) {
        problems.push_back(std::move(*refused));
    }
    return problems;
}

Expected<void> ProcessProvider::do_initialize(const nlohmann::json& settings) {
    RTFS_TRY(process::SandboxSettings parsed, parse_settings(settings));
    {
        std::lock_guard lock(probe_mu_);
        if (probed_sandbox_ && probed_sandbox_->settings() == parsed) {
            sandbox_ = std::move(probed_sandbox_);
        }
    }
    if (!sandbox_) {
        RTFS_TRY(sandbox_, process::Sandbox::create(parsed));
        auto usable = sandbox_->probe();  // e.g. a cgroup_parent that cannot hold sandboxes
        if (!usable.available) {
            sandbox_.reset();
            return fail(Failure::Kind::SetupError, "provider 'process': " + usable.reason);
        }
    }
    sandbox_->sweep_stale();  // cgroups of hosts that crashed while sandboxes ran
    return Ok{};
}

void ProcessProvider::do_cleanup() {
    sandbox_.reset();
}

ExecutionResult ProcessProvider::run(const ExecutionContext& ctx) {
    const MicroVMConfig& config = ctx.config;
    auto command = host::command_for(ctx);
    if (!command) {
        const host::CommandFailure f = host::failure_of(command.error());
        ExecutionResult r = make_result(ctx, f.status, f.kind, command.error().message);
        r.metadata.exit_code = f.exit_code;
        return r;
    }
    auto env = host::sandbox_environment(config);
    if (!env) return make_result(ctx, Status::InvalidInput, "invalid_input", env.error().message);

    process::SandboxSpec spec;
    spec.program = command->program;
    spec.argv = std::move(command->argv);
    spec.env = std::move(*env);
    spec.fs_policy = config.fs_policy;
    spec.runtime_dirs = std::move(command->runtime_dirs);
    spec.host_network = config.network_policy.kind == NetworkPolicy::Kind::Full;
    spec.limits.memory_bytes = config.memory_limit_mb << 20;
    spec.limits.cpu_fraction = config.cpu_limit;
    spec.limits.max_pids = config.max_processes;
    spec.timeout = config.timeout;
    spec.max_output_bytes = config.max_output_bytes;
    spec.stdin_data = std::move(command->stdin_data);
    spec.result_channel = command->result_channel;
    spec.max_result_bytes = guest::kMaxFrameBytes + 4;

    auto outcome = sandbox_->run(spec);
    if (!outcome) {
        const Failure& f = outcome.error();
        bool bad_input = f.kind == Failure::Kind::InvalidInput;
        return make_result(ctx, bad_input ? Status::InvalidInput : Status::SetupError,
                           bad_input ? "invalid_input" : "setup_error", f.message);
    }
    SandboxOutcome& o = *outcome;
    ExecutionResult r = make_result(ctx, Status::Ok);
    if (o.end == SandboxOutcome::End::ExecFailed) {
        r = make_result(ctx, Status::RuntimeError,
                        o.exec_errno == ENOENT ? "program_not_found" : "exec_failed",
                        o.exec_errno == ENOENT
                            ? "the program or its ELF interpreter is missing inside the sandbox (" +
                                  o.exec_error + ")"
                            : o.exec_error);
    } else {
        apply_ending({.kind = o.end == SandboxOutcome::End::TimedOut ? SandboxEnding::Kind::TimedOut
                              : o.end == SandboxOutcome::End::MemoryExceeded
                                  ? SandboxEnding::Kind::MemoryExceeded
                              : o.end == SandboxOutcome::End::Signaled ? SandboxEnding::Kind::Signaled
                                                                       : SandboxEnding::Kind::Exited,
                      .exit_code = o.exit_code,
                      .signal = o.signal,
                      .guest = spec.result_channel},
                     config, r);
    }
    copy_output(o, r.metadata);
    if (spec.result_channel && o.end == SandboxOutcome::End::Exited) {
        guest::apply_result({.exited = true,
                             .exit_code = o.exit_code,
                             .frame = o.result.data,
                             .frame_truncated = o.result.truncated,
                             .stderr_data = r.metadata.stderr_data},
                            r);
    }
    return r;
}

}  // namespace microvm
