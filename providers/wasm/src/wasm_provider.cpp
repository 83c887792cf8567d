#include "microvm/wasm/wasm_provider.hpp"

#include <sys/stat.h>
#include <time.h>

#include <chrono>

#include "engine.hpp"
#include "engine_limits.hpp"
#include "module_cache.hpp"

namespace microvm {
namespace {

std::chrono::nanoseconds thread_cpu_time() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// WASI grants directories, so every fs_policy path must be one.
void check_fs_paths(const FileSystemPolicy& policy, std::vector<Unsupported>& problems) {
    if (policy.kind != FileSystemPolicy::Kind::ReadOnly &&
        policy.kind != FileSystemPolicy::Kind::ReadWrite) {
        return;
    }
    for (const std::string& path : policy.paths) {
        struct stat st;
        if (stat(path.c_str(), &st) != 0) {
            problems.push_back({"fs_policy", path + " does not exist"});
        } else if (!S_ISDIR(st.st_mode)) {
            problems.push_back(
                {"fs_policy", path + " is not a directory (WASI preopens directories only)"});
        }
    }
}

}  // namespace

WasmProvider::WasmProvider()
    : cache_(std::make_unique<wasm::ModuleCache>(wasm::limits::kModuleCacheEntries,
                                                 wasm::limits::kModuleCacheBytes)) {}

WasmProvider::~WasmProvider() = default;

Availability WasmProvider::availability() const {
    return {true, ""};  // the engine is linked in; nothing to probe
}

nlohmann::json WasmProvider::config_schema() const {
    return {{"type", "object"},
            {"properties",
             {{"module_cache_entries", {{"type", "integer"}, {"minimum", 0}, {"maximum", 4096}}},
              {"module_cache_mb", {{"type", "integer"}, {"minimum", 0}, {"maximum", 65536}}}}},
            {"additionalProperties", false}};
}

std::vector<Unsupported> WasmProvider::check(const ExecutionContext& ctx) const {
    std::vector<Unsupported> problems;
    if (ctx.program && kind_of(*ctx.program) == ProgramKind::Rtfs) {
        auto guest = find_rtfs_guest_wasm();
        problems.push_back({"program", guest ? "rtfs: running rtfs-guest.wasm (" + *guest +
                                                   ") is not implemented yet in this provider"
                                             : "rtfs: " + guest.error().message});
    } else {
        problems = Provider::check(ctx);
    }
    check_fs_paths(ctx.config.fs_policy, problems);
    return problems;
}

WasmProvider::CacheStats WasmProvider::cache_stats() const {
    auto s = cache_->stats();
    return {s.hits, s.misses, s.entries};
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
    cache_ = std::make_unique<wasm::ModuleCache>(entries, mb << 20);
    return Ok{};
}

void WasmProvider::do_cleanup() {
    cache_->clear();
}

ExecutionResult WasmProvider::run(const ExecutionContext& ctx) {
    const auto started = std::chrono::steady_clock::now();
    const auto cpu_start = thread_cpu_time();
    const auto& program = std::get<WasmModule>(*ctx.program);
    auto module = cache_->get_or_compile(program.bytes);
    if (!module) {
        ExecutionResult r =
            make_result(ctx, Status::InvalidInput, "invalid_module", module.error().message);
        r.metadata.duration = std::chrono::steady_clock::now() - started;
        r.metadata.cpu_time = thread_cpu_time() - cpu_start;
        return r;
    }
    wasm::RunRequest request;
    request.args = ctx.args;
    wasm::RunOutcome outcome = wasm::run_module(**module, ctx.config, request);

    ExecutionResult r = make_result(ctx, outcome.status, std::move(outcome.error_kind),
                                    std::move(outcome.error_message));
    ExecutionMetadata meta = std::move(outcome.metadata);
    // The totals include decoding on a cache miss.
    meta.duration = std::chrono::steady_clock::now() - started;
    meta.cpu_time = thread_cpu_time() - cpu_start;
    meta.provider = r.metadata.provider;
    meta.isolation = r.metadata.isolation;
    r.metadata = std::move(meta);
    return r;
}

}  // namespace microvm
