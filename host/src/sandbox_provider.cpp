#include "host/sandbox_provider.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <variant>

#include "host/program_command.hpp"
#include "host/sandbox_settings.hpp"
#include "microvm/errors.hpp"
#include "microvm/guest_run.hpp"

namespace microvm::host {
namespace {

// Each initialization's backend, process-wide: a sandbox fits only the backend (settings) that
// built it, not a later one of this provider nor another provider at the same address.
uint64_t next_backend_generation() {
    static std::atomic<uint64_t> next{1};
    return next.fetch_add(1);
}


SandboxRequest request_for(const ExecutionContext& ctx, Command command,
                           std::vector<std::string> env, const CancelToken& cancel) {
    const MicroVMConfig& config = ctx.config;
    SandboxRequest req;
    req.program = std::move(command.program);
    req.argv = std::move(command.argv);
    req.env = std::move(env);
    req.fs_policy = config.fs_policy;
    req.runtime_dirs = std::move(command.runtime_dirs);
    req.host_network = config.network_policy.kind == NetworkPolicy::Kind::Full;
    req.limits.memory_bytes = config.memory_limit_mb << 20;
    req.limits.cpu_fraction = config.cpu_limit;
    req.limits.max_pids = config.max_processes;
    req.timeout = config.timeout;
    req.max_output_bytes = config.max_output_bytes;
    req.stdin_data = std::move(command.stdin_data);
    req.guest = command.result_channel;
    req.max_result_bytes = guest::kMaxFrameBytes + 4;
    req.on_output = ctx.on_output;
    req.cancel = cancel;
    return req;
}

void copy_measurements(SandboxReport& o, ExecutionMetadata& m) {
    m.duration = o.wall;
    m.cpu_time = o.cpu_time;
    m.cpu_throttling = o.cpu_throttling;
    if (o.memory_peak_bytes) {
        m.memory_peak_mb = static_cast<double>(*o.memory_peak_bytes) / (1 << 20);
    }
    m.stdout_data = std::move(o.stdout_data.data);
    m.stderr_data = std::move(o.stderr_data.data);
    m.stdout_truncated = o.stdout_data.truncated;
    m.stderr_truncated = o.stderr_data.truncated;
    m.provider_details = std::move(o.details);
    m.exit_code = o.exit_code;  // 128+N when a signal ended it, like a shell reports
    if (o.signal != 0 && o.end != SandboxReport::End::Exited && o.end != SandboxReport::End::ExecFailed &&
        o.end != SandboxReport::End::GuestFailed && o.end != SandboxReport::End::InitLost) {
        m.signal = o.signal;
    }
}

}  // namespace

void apply_ending(const SandboxReport& o, bool guest, const MicroVMConfig& config,
                  ExecutionResult& r) {
    using End = SandboxReport::End;
    auto set = [&](Reason reason, std::string message = {}) {
        if (message.empty()) message = reason_message(reason, config, o.signal, o.exit_code);
        set_error(r, reason, std::move(message));
    };
    switch (o.end) {
        case End::TimedOut: return set(Reason::Timeout);
        case End::MemoryExceeded: return set(Reason::MemoryExceeded);
        case End::Cancelled: return set(Reason::Cancelled);
        case End::ProcessLimit: return set(Reason::ProcessLimit);
        case End::Signaled: return set(Reason::Signaled);
        case End::ExecFailed:
            if (o.exec_errno == ENOENT) {
                return set(Reason::ProgramNotFound,
                           "the program or its ELF interpreter is missing inside the sandbox (" +
                               o.exec_error + ")");
            }
            return set(o.exec_errno == EACCES ? Reason::NotExecutable : Reason::ExecFailed,
                       o.exec_error);
        case End::GuestFailed: return set(Reason::GuestProtocol, o.exec_error);
        case End::InitLost: return set(Reason::SetupError, o.exec_error);
        case End::Exited:
            if (!guest && o.exit_code != 0) return set(Reason::NonzeroExit);
            r.status = Status::Ok;
            r.error.reset();
            return;
    }
}

std::vector<ProgramKind> SandboxProvider::runs() const {
    return {ProgramKind::Rtfs, ProgramKind::External, ProgramKind::Script};
}

std::vector<Unsupported> SandboxProvider::check(const ExecutionContext& ctx) const {
    std::vector<Unsupported> problems = Provider::check(ctx);
    if (needs_egress(ctx.config.network_policy)) {
        if (auto reason = host_lists_refusal()) {
            if (auto refused = refuse_host_lists(ctx.config.network_policy, std::move(*reason))) {
                problems.push_back(std::move(*refused));
            }
        }
    }
    if (auto refused = refuse_cpu_below_quota_floor(ctx.config.cpu_limit)) {
        problems.push_back(std::move(*refused));
    }
    check_backend(ctx, problems);
    return problems;
}

Expected<void> SandboxProvider::do_initialize(const nlohmann::json& settings) {
    auto made = make_backend(settings);
    if (!made) {
        return fail(made.error().kind,
                    "provider '" + std::string(name()) + "': " + made.error().message);
    }
    RTFS_TRY(proxy::Limits limits, provider_egress_limits(name(), settings));
    backend_ = std::move(*made);
    generation_.store(next_backend_generation());
    egress_limits_ = std::move(limits);
    backend_->sweep_stale();  // what hosts that crashed while sandboxes ran left behind
    return Ok{};
}

void SandboxProvider::do_cleanup() {
    generation_.store(0);  // nothing built before fits from here on
    backend_.reset();
}

rtfs::Expected<Command, CommandError> SandboxProvider::resolve(const ExecutionContext& ctx) const {
    return command_for(ctx);
}

namespace {

// How long a sandbox built ahead may wait: past it a pool replaces it (it pins a copy of the
// host's memory as it was, and its files as they were, docs/security.md).
constexpr std::chrono::minutes kMaxPreparedAge{10};

// A sandbox the backend built for one request shape (which it keeps), and whose it is.
struct PreparedShape final : PreparedSandbox {
    const SandboxProvider* owner = nullptr;
    uint64_t generation = 0;
    std::chrono::steady_clock::time_point built_at;
    std::unique_ptr<PreparedRun> run;

    bool expired() const override {
        return !run || std::chrono::steady_clock::now() - built_at > kMaxPreparedAge ||
               !run->current();
    }
};

}  // namespace

std::variant<SandboxRequest, ExecutionResult> SandboxProvider::request_without_egress(
    const ExecutionContext& ctx, const CancelToken& cancel) const {
    auto command = resolve(ctx);
    if (!command) {
        const CommandFailure f = failure_of(command.error());
        ExecutionResult r = make_error(ctx, f.reason, command.error().message);
        r.metadata.exit_code = f.exit_code;
        return r;
    }
    auto env = sandbox_environment(ctx.config);
    if (!env) return make_error(ctx, Reason::InvalidConfig, env.error().message);
    return request_for(ctx, std::move(*command), std::move(*env), cancel);
}

Expected<std::unique_ptr<PreparedSandbox>> SandboxProvider::do_prepare(const ExecutionContext& shape) {
    const std::string who = "provider '" + std::string(name()) + "'";
    if (needs_egress(shape.config.network_policy)) {
        return fail(Failure::Kind::Unsupported,
                    who + ": a sandbox with a host list is not built ahead (its egress proxy is "
                          "the execution's own)");
    }
    auto req = request_without_egress(shape, CancelToken());
    if (auto* refused = std::get_if<ExecutionResult>(&req)) {
        return fail(Failure::Kind::InvalidInput,
                    who + ": " + (refused->error ? refused->error->message : "refused"));
    }
    auto prepared = std::make_unique<PreparedShape>();
    prepared->owner = this;
    prepared->generation = generation_.load();
    prepared->built_at = std::chrono::steady_clock::now();
    RTFS_TRY(prepared->run, backend_->prepare(std::get<SandboxRequest>(req)));
    return std::unique_ptr<PreparedSandbox>(std::move(prepared));
}

bool SandboxProvider::fits(const PreparedSandbox& prepared, const ExecutionContext& ctx) const {
    const auto* p = dynamic_cast<const PreparedShape*>(&prepared);
    if (!p || p->owner != this || p->generation != generation_.load() || p->expired() ||
        needs_egress(ctx.config.network_policy)) {
        return false;
    }
    auto req = request_without_egress(ctx, CancelToken());
    const auto* built = std::get_if<SandboxRequest>(&req);
    return built && p->run->fits(*built);
}

ExecutionResult SandboxProvider::run(const ExecutionContext& ctx, const CancelToken& cancel) {
    return run_in(ctx, cancel, nullptr);
}

ExecutionResult SandboxProvider::run_prepared(const ExecutionContext& ctx, const CancelToken& cancel,
                                              PreparedSandbox& prepared) {
    auto& p = dynamic_cast<PreparedShape&>(prepared);  // fits() said so
    return run_in(ctx, cancel, p.run.get());
}

ExecutionResult SandboxProvider::run_in(const ExecutionContext& ctx, const CancelToken& cancel,
                                        PreparedRun* prepared) {
    auto built = request_without_egress(ctx, cancel);
    if (auto* refused = std::get_if<ExecutionResult>(&built)) return std::move(*refused);
    SandboxRequest& req = std::get<SandboxRequest>(built);

    // Allow/block lists: the proxy is the way out, and the program is told where it is.
    std::optional<EgressSession> egress;
    if (needs_egress(ctx.config.network_policy)) {
        auto opened = EgressSession::open(ctx.config.network_policy, egress_limits_, egress_hooks_);
        if (!opened) return make_error(ctx, Reason::SetupError, opened.error().message);
        egress.emplace(std::move(*opened));
        apply_egress_environment(req.env, egress_proxy_host());
        req.egress = &*egress;
    }
    auto report = prepared ? prepared->launch(req) : backend_->run(req);
    std::vector<rtfs::NetworkRequest> records;
    if (egress) records = egress->finish();
    if (!report) {
        const Failure& f = report.error();
        ExecutionResult r = make_error(ctx,
                                       f.kind == Failure::Kind::InvalidInput ? Reason::InvalidProgram
                                                                             : Reason::SetupError,
                                       f.message);
        r.metadata.network_requests = std::move(records);
        return r;
    }
    SandboxReport& o = *report;
    ExecutionResult r = make_result(ctx);
    apply_ending(o, req.guest, ctx.config, r);
    copy_measurements(o, r.metadata);
    if (req.guest && o.end == SandboxReport::End::Exited) {
        guest::apply_result({.exited = true,
                             .exit_code = o.exit_code,
                             .frame = o.result ? std::string_view(o.result->data) : "",
                             .frame_truncated = o.result && o.result->truncated,
                             .stderr_data = r.metadata.stderr_data},
                            r);
    }
    // What the proxy saw is the record of the network (an RTFS guest's own log of its
    // http-fetch calls, inside the sandbox, is the program's word; the proxy's is the host's).
    if (egress) r.metadata.network_requests = std::move(records);
    return r;
}

}  // namespace microvm::host
