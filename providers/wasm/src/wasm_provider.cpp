#include "microvm/wasm/wasm_provider.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <chrono>
#include <optional>
#include <string>
#include <variant>

#include "engine.hpp"
#include "engine_process.hpp"
#include "host/egress.hpp"
#include "host/sandbox_settings.hpp"
#include "engine_limits.hpp"
#include "cpu_pacing.hpp"
#include "fd_table.hpp"
#include "host/unique_fd.hpp"
#include "microvm/errors.hpp"
#include "microvm/guest_run.hpp"
#include "module_cache.hpp"
#include "rtfs_guest.hpp"
#include "rtfs/host/http_transfer.hpp"

namespace microvm {
namespace {

using wasm::thread_cpu_time;

// A read-only path inside a writable one: the writable preopen reaches it with full rights, and
// WASI has nothing like the read-only bind mount the process provider places over it. Checked
// again on the opened directories (add_preopens).
void check_read_only_not_inside_writable(const FileSystemPolicy& policy,
                                         std::vector<Unsupported>& problems) {
    if (policy.kind != FileSystemPolicy::Kind::ReadWrite) return;
    auto open_dir = [](const std::string& path) {
        return host::UniqueFd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    };
    for (const std::string& ro : policy.read_only_paths) {
        host::UniqueFd ro_fd = open_dir(ro);
        if (!ro_fd.valid()) continue;  // reported as missing / not a directory
        for (const std::string& rw : policy.paths) {
            host::UniqueFd rw_fd = open_dir(rw);
            if (rw_fd.valid() && wasm::directory_within(ro_fd.get(), rw_fd.get())) {
                problems.push_back({"fs_policy", wasm::read_only_inside_writable_reason(ro, rw)});
            }
        }
    }
}

// WASI grants directories, so every fs_policy path must be one.
void check_fs_paths(const FileSystemPolicy& policy, std::vector<Unsupported>& problems) {
    if (policy.kind != FileSystemPolicy::Kind::ReadOnly &&
        policy.kind != FileSystemPolicy::Kind::ReadWrite) {
        return;
    }
    for (const std::string& path : policy.readable_paths()) {
        struct stat st;
        if (stat(path.c_str(), &st) != 0) {
            problems.push_back({"fs_policy", path + " does not exist"});
        } else if (!S_ISDIR(st.st_mode)) {
            problems.push_back(
                {"fs_policy", path + " is not a directory (WASI preopens directories only)"});
        }
    }
    check_read_only_not_inside_writable(policy, problems);
}

}  // namespace

WasmProvider::WasmProvider()
    : cache_(std::make_unique<wasm::ModuleCache>(wasm::limits::kModuleCacheEntries,
                                                 wasm::limits::kModuleCacheBytes)),
      rtfs_guest_(std::make_unique<wasm::RtfsGuestModule>()),
      egress_limits_(std::make_unique<proxy::Limits>()) {}

WasmProvider::WasmProvider(std::string module_store_dir, bool guest_snapshots)
    : cache_(std::make_unique<wasm::ModuleCache>(wasm::limits::kModuleCacheEntries,
                                                 wasm::limits::kModuleCacheBytes)),
      rtfs_guest_(std::make_unique<wasm::RtfsGuestModule>(std::move(module_store_dir),
                                                          guest_snapshots)),
      egress_limits_(std::make_unique<proxy::Limits>()) {}

WasmProvider::~WasmProvider() = default;

Availability WasmProvider::availability() const {
    return {true, ""};  // the engine is linked in; nothing to probe
}

nlohmann::json WasmProvider::config_schema() const {
    nlohmann::json properties = {
        {"module_cache_entries", {{"type", "integer"}, {"minimum", 0}, {"maximum", 4096}}},
        {"module_cache_mb", {{"type", "integer"}, {"minimum", 0}, {"maximum", 65536}}}};
    properties.update(host::egress_settings_schema());
    return {{"type", "object"}, {"properties", properties}, {"additionalProperties", false}};
}

std::vector<Unsupported> WasmProvider::check(const ExecutionContext& ctx) const {
    std::vector<Unsupported> problems = Provider::check(ctx);
    if (ctx.program && kind_of(*ctx.program) == ProgramKind::Rtfs) {
        if (auto guest = find_rtfs_guest_wasm(); !guest) {
            problems.push_back({"program", "rtfs: " + guest.error().message});
        }
    }
    check_fs_paths(ctx.config.fs_policy, problems);
    // The same floor as the providers' kernel quota: pacing computes the time a share of the
    // CPU time used is owed, which overflowed for a share of 1e-10 and was never slept (red
    // team, 2026-12-07: 7 s of CPU in 8 s at cpu_limit 4.9e-324).
    if (auto refused = host::refuse_cpu_below_quota_floor(ctx.config.cpu_limit)) problems.push_back(*refused);
    return problems;
}

WasmProvider::CacheStats WasmProvider::cache_stats() const {
    auto s = cache_->stats();
    return {s.hits, s.misses, s.entries, rtfs_guest_->store_loads()};
}

Expected<void> WasmProvider::do_initialize(const nlohmann::json& settings) {
    // Settings were checked against config_schema() by the caller; anything else means default.
    auto setting = [&](const char* key, size_t fallback) -> size_t {
        if (!settings.is_object() || !settings.contains(key)) return fallback;
        const nlohmann::json& v = settings[key];
        return v.is_number_integer() && v.get<int64_t>() >= 0 ? v.get<size_t>() : fallback;
    };
    size_t entries = setting("module_cache_entries", wasm::limits::kModuleCacheEntries);
    size_t mb = setting("module_cache_mb", wasm::limits::kModuleCacheBytes >> 20);
    RTFS_TRY(proxy::Limits egress_limits, host::provider_egress_limits(name(), settings));
    cache_ = std::make_unique<wasm::ModuleCache>(entries, mb << 20);
    egress_limits_ = std::make_unique<proxy::Limits>(std::move(egress_limits));
    return Ok{};
}

void WasmProvider::do_cleanup() {
    cache_->clear();
    rtfs_guest_->clear();
}

ExecutionResult WasmProvider::run(const ExecutionContext& ctx, const CancelToken& cancel) {
    // Allow/block lists: http_fetch goes out through the egress proxy (which also refuses names
    // resolving to internal addresses), on a Unix socket only this host process can reach; the
    // proxy's records are the run's network records.
    std::optional<host::EgressSession> egress;
    std::string http_proxy;
    if (host::needs_egress(ctx.config.network_policy)) {
        auto opened = host::EgressSession::open(ctx.config.network_policy, *egress_limits_);
        if (!opened) return make_error(ctx, Reason::SetupError, opened.error().message);
        egress.emplace(std::move(*opened));
        auto socket = egress->listen_private_unix();
        if (!socket) return make_error(ctx, Reason::SetupError, socket.error().message);
        http_proxy = rtfs::host::unix_socket_proxy_url(*socket);
    }
    ExecutionResult r =
        std::holds_alternative<RtfsSource>(*ctx.program)
            ? run_rtfs(ctx, std::get<RtfsSource>(*ctx.program), cancel, http_proxy)
            : run_module_program(ctx, std::get<WasmModule>(*ctx.program), cancel, http_proxy);
    if (egress) {
        for (auto& record : egress->finish()) r.metadata.network_requests.push_back(std::move(record));
    }
    return r;
}

namespace {

// Totals include loading (and, on a cache miss, compiling) the module: this thread's CPU time
// added to the engine process's (the kernel's count of it, when it ran).
void stamp_totals(ExecutionMetadata& m, std::chrono::steady_clock::time_point started,
                  std::chrono::nanoseconds cpu_start) {
    m.duration = std::chrono::steady_clock::now() - started;
    m.cpu_time = (thread_cpu_time() - cpu_start) + m.cpu_time.value_or(std::chrono::nanoseconds{0});
}

// The engine's verdict and metadata, with the run's totals.
void take_outcome(ExecutionResult& r, wasm::RunOutcome& outcome,
                  std::chrono::steady_clock::time_point started, std::chrono::nanoseconds cpu_start) {
    if (outcome.failure) set_error(r, *outcome.failure, std::move(outcome.error_message));
    ExecutionMetadata meta = std::move(outcome.metadata);
    stamp_totals(meta, started, cpu_start);
    meta.provider = r.metadata.provider;
    meta.isolation = r.metadata.isolation;
    r.metadata = std::move(meta);
}

}  // namespace

ExecutionResult WasmProvider::run_module_program(const ExecutionContext& ctx,
                                                 const WasmModule& program,
                                                 const CancelToken& cancel,
                                                 const std::string& http_proxy) {
    const auto started = std::chrono::steady_clock::now();
    const auto cpu_start = thread_cpu_time();
    // A module is hostile bytes: compiled in a confined child of its own (cached here as it
    // sends it back) and run in another, never in this process (engine_process.hpp).
    const Expected<wasm::ModuleCache::Digest> key = wasm::ModuleCache::key_of(program.bytes);
    std::optional<wasm::ModuleCache::Known> known;
    if (key) known = cache_->find(*key);
    std::shared_ptr<const wasm::CompiledModule> module = known ? known->module : nullptr;
    std::chrono::nanoseconds compiler_cpu{0};
    if (!known) {
        auto compiled = wasm::compile_module_confined(program.bytes, started + ctx.config.timeout,
                                                      cancel_flag(cancel), compiler_cpu);
        if (!compiled) {
            ExecutionResult r = make_error(ctx, compiled.error().reason, compiled.error().message);
            r.metadata.cpu_time = compiler_cpu;
            stamp_totals(r.metadata, started, cpu_start);
            return r;
        }
        module = std::move(*compiled);  // nullptr: compiled again in each run's child
        if (key) cache_->insert(*key, {module});
    }
    wasm::RunRequest request;
    request.args = ctx.args;
    request.on_output = ctx.on_output;
    request.cancel = cancel_flag(cancel);
    request.http_proxy = http_proxy;
    request.deadline = started + ctx.config.timeout;  // compiling counted against it
    wasm::RunOutcome outcome = wasm::run_module_confined(module.get(), program.bytes, ctx.config, request);
    outcome.metadata.cpu_time = outcome.metadata.cpu_time.value_or(std::chrono::nanoseconds{0}) + compiler_cpu;
    ExecutionResult r = make_result(ctx);
    take_outcome(r, outcome, started, cpu_start);
    return r;
}

ExecutionResult WasmProvider::run_rtfs(const ExecutionContext& ctx, const RtfsSource& program,
                                       const CancelToken& cancel, const std::string& http_proxy) {
    const auto started = std::chrono::steady_clock::now();
    const auto cpu_start = thread_cpu_time();
    auto module = rtfs_guest_->get();
    if (!module) {
        ExecutionResult r = make_error(ctx, Reason::Unavailable, module.error().message);
        stamp_totals(r.metadata, started, cpu_start);
        return r;
    }
    wasm::RunRequest request;
    request.program_name = "rtfs-guest.wasm";
    request.stdin_data = guest::exec_frame(guest::job_for(program, ctx));
    request.result_sink = true;
    request.result_cap = guest::kMaxFrameBytes + 4;
    request.max_call_depth = wasm::limits::kRtfsGuestCallDepth;
    request.init_export = wasm::RtfsGuestModule::kInitExport;
    request.run_export = wasm::RtfsGuestModule::kRunExport;
    // One deadline from the execution's start: a snapshot taken now counts against its timeout.
    request.deadline = started + ctx.config.timeout;
    request.cancel = cancel_flag(cancel);
    auto snapshot = rtfs_guest_->snapshot(*module, {*request.deadline, request.cancel});
    request.snapshot = snapshot.get();
    request.on_output = ctx.on_output;
    request.http_proxy = http_proxy;
    wasm::RunOutcome outcome = wasm::run_module(**module, ctx.config, request);

    // Timeouts, memory and traps are the engine's verdict; a guest that ran to its end reports
    // the RTFS result itself. An exit other than 0 is a guest failure apply_result describes.
    const bool ran_to_end = !outcome.failure || *outcome.failure == Reason::NonzeroExit;
    ExecutionResult r = make_result(ctx);
    take_outcome(r, outcome, started, cpu_start);
    if (ran_to_end) {
        // The engine recorded every http_fetch itself; the guest's own list is not trusted.
        auto requests = std::move(r.metadata.network_requests);
        guest::apply_result({.exited = true,
                             .exit_code = r.metadata.exit_code.value_or(0),
                             .frame = outcome.result_bytes,
                             .frame_truncated = outcome.result_truncated,
                             .stderr_data = r.metadata.stderr_data},
                            r);
        r.metadata.network_requests = std::move(requests);
    }
    return r;
}

}  // namespace microvm
