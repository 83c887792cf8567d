#include "gvisor/gvisor_provider.hpp"

#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>

#include "gvisor/oci_spec.hpp"
#include "microvm/guest_run.hpp"
#include "microvm/sandbox_ending.hpp"
#include "host/program_command.hpp"
#include "host/sandbox_settings.hpp"

namespace microvm {
namespace {

using gvisor::RunOutcome;

Expected<gvisor::RuntimeSettings> parse_settings(const nlohmann::json& s) {
    gvisor::RuntimeSettings out;
    if (!s.is_object()) return fail(Failure::Kind::InvalidConfig, "settings must be an object");
    auto text = [&](const char* key, std::string& into) {
        if (auto it = s.find(key); it != s.end() && it->is_string()) into = it->get<std::string>();
    };
    text("runsc", out.runsc);
    text("platform", out.platform);
    text("cgroup_parent", out.cgroup_parent);
    text("state_dir", out.state_base);
    const host::RlimitSettings rlimits = host::parse_rlimit_settings(s);  // validated
    out.max_file_size_bytes = rlimits.max_file_size_bytes;
    out.max_open_files = rlimits.max_open_files;
    return out;
}

void copy_output(RunOutcome& o, ExecutionMetadata& m) {
    m.duration = o.wall;
    m.cpu_time = o.cpu_time;
    if (o.memory_peak_bytes)
        m.memory_peak_mb = static_cast<double>(*o.memory_peak_bytes) / (1 << 20);
    m.stdout_data = std::move(o.stdout_data.data);
    m.stderr_data = std::move(o.stderr_data.data);
    m.stdout_truncated = o.stdout_data.truncated;
    m.stderr_truncated = o.stderr_data.truncated;
    m.exit_code = o.exit_code;  // 128+N when a signal ended it, like a shell reports
    if (o.end != RunOutcome::End::Exited) m.signal = o.signal;
}

}  // namespace

GvisorProvider::GvisorProvider() = default;
GvisorProvider::~GvisorProvider() = default;

std::vector<ProgramKind> GvisorProvider::runs() const {
    return {ProgramKind::Rtfs, ProgramKind::External, ProgramKind::Script};
}

Availability GvisorProvider::availability() const {
    std::call_once(probed_, [this] {
        auto runtime = gvisor::Runtime::create({});
        if (!runtime) {
            availability_ = {false, runtime.error().message};
            return;
        }
        availability_ = {true, {}};
        std::lock_guard lock(probe_mu_);
        probed_runtime_ = std::move(*runtime);
    });
    return availability_;
}

std::string GvisorProvider::platform() const {
    return runtime_ ? runtime_->platform() : "";
}

nlohmann::json GvisorProvider::config_schema() const {
    nlohmann::json properties = {{"runsc",
               {{"type", "string"},
                {"description", "absolute path of the runsc binary (default: found on PATH)"}}},
              {"platform",
               {{"type", "string"},
                {"enum", {"ptrace", "systrap"}},
                {"description",
                 "gVisor platform (default: systrap when this runsc has it and a probe succeeds, "
                 "else ptrace). KVM is not offered: without usable nested virtualisation it "
                 "hangs instead of failing."}}},
              {"cgroup_parent",
               {{"type", "string"},
                {"description",
                 "cgroup (path from each hierarchy's root) under which container cgroups are "
                 "created; default: the host process's own cgroup"}}},
              {"state_dir",
               {{"type", "string"},
                {"description",
                 "existing directory holding the provider's private runsc state and bundles "
                 "(default /run)"}}}};
    properties.update(host::rlimit_settings_schema());
    return {{"type", "object"}, {"properties", properties}, {"additionalProperties", false}};
}

std::vector<Unsupported> GvisorProvider::check(const ExecutionContext& ctx) const {
    std::vector<Unsupported> problems = Provider::check(ctx);
    if (auto refused = host::refuse_host_lists(ctx.config.network_policy)) {
        problems.push_back(std::move(*refused));
    }
    if (auto refused = host::refuse_cpu_below_quota_floor(ctx.config.cpu_limit)) {
        problems.push_back(std::move(*refused));
    }
    // gVisor's file proxy writes as root on the program's behalf and cannot go through an
    // idmapped bind, so a writable path must already be writable by the sandbox's user.
    if (ctx.config.fs_policy.kind == FileSystemPolicy::Kind::ReadWrite) {
        for (const std::string& path : ctx.config.fs_policy.paths) {
            struct stat st;
            if (::stat(path.c_str(), &st) != 0) continue;  // reported when the root is planned
            const bool writable = (st.st_uid == gvisor::kSandboxUid && (st.st_mode & S_IWUSR)) ||
                                  (st.st_gid == gvisor::kSandboxGid && (st.st_mode & S_IWGRP)) ||
                                  (st.st_mode & S_IWOTH);
            if (!writable) {
                char mode[8];
                std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
                problems.push_back(
                    {"fs_policy", "'" + path + "' is not writable by the sandbox's user " +
                                      std::to_string(gvisor::kSandboxUid) + " (owner uid " +
                                      std::to_string(st.st_uid) + ", mode " + mode +
                                      ") and gVisor cannot map its owner to it; make it "
                                      "writable by that user, or use the process provider"});
            }
        }
    }
    return problems;
}

Expected<void> GvisorProvider::do_initialize(const nlohmann::json& settings) {
    RTFS_TRY(gvisor::RuntimeSettings parsed, parse_settings(settings));
    {
        std::lock_guard lock(probe_mu_);
        if (probed_runtime_ && probed_runtime_->settings() == parsed) {
            runtime_ = std::move(probed_runtime_);  // swept stale state when it was created
            return Ok{};
        }
    }
    auto created = gvisor::Runtime::create(parsed);  // sweeps stale state itself
    if (!created)
        return fail(created.error().kind, "provider 'gvisor': " + created.error().message);
    runtime_ = std::move(*created);
    return Ok{};
}

void GvisorProvider::do_cleanup() {
    runtime_.reset();
}

ExecutionResult GvisorProvider::run(const ExecutionContext& ctx) {
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

    gvisor::RunRequest req;
    req.program = command->program;
    req.argv = std::move(command->argv);
    req.env = std::move(*env);
    req.fs_policy = config.fs_policy;
    req.runtime_dirs = std::move(command->runtime_dirs);
    req.host_network = config.network_policy.kind == NetworkPolicy::Kind::Full;
    req.memory_bytes = config.memory_limit_mb << 20;
    req.cpu_fraction = config.cpu_limit;
    req.max_processes = config.max_processes;
    req.timeout = config.timeout;
    req.max_output_bytes = config.max_output_bytes;
    req.stdin_data = std::move(command->stdin_data);
    req.guest_result = command->result_channel;
    req.max_result_bytes = guest::kMaxFrameBytes + 4;

    auto outcome = runtime_->run(req);
    if (!outcome) {
        const Failure& f = outcome.error();
        bool bad_input = f.kind == Failure::Kind::InvalidInput;
        return make_result(ctx, bad_input ? Status::InvalidInput : Status::SetupError,
                           bad_input ? "invalid_input" : "setup_error", f.message);
    }
    RunOutcome& o = *outcome;
    ExecutionResult r = make_result(ctx, Status::Ok);
    apply_ending({.kind = o.end, .exit_code = o.exit_code, .signal = o.signal,
                  .guest = req.guest_result},
                 config, r);
    const bool exited = o.end == RunOutcome::End::Exited;
    copy_output(o, r.metadata);
    if (req.guest_result && exited) {
        guest::apply_result({.exited = true,
                             .exit_code = o.exit_code,
                             .frame = o.result ? std::string_view(o.result->data) : "",
                             .frame_truncated = o.result && o.result->truncated,
                             .stderr_data = r.metadata.stderr_data},
                            r);
    }
    return r;
}

}  // namespace microvm
