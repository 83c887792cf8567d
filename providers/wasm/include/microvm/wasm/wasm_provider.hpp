// The "wasm" provider: WebAssembly modules (binary or WAT) with a WASI `_start`, run by an
// embedded interpreter (wabt) with the project's own WASI preview1 host. Every policy is enforced
// inside the engine: preopened directories from the fs policy (confined path resolution), the
// network policy on the "microvm".http_fetch import, memory_limit_mb on linear memory, the
// timeout between fuel slices, cpu_limit by throttling, env/args/stdio exactly as configured.
//
// ExecutionContext.args are plain strings for wasm modules: argv[1..] (argv[0] is
// "module.wasm"). RTFS programs run inside the RTFS runtime compiled to wasm32-wasi
// (rtfs-guest.wasm, find_rtfs_guest_wasm) under the same engine and policy; the job goes in on
// stdin and the result comes back on fd 3, as with the native guest runner. Where that module
// was not built, check() refuses RTFS programs with the reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "microvm/provider.hpp"

namespace microvm {

namespace wasm {
class ModuleCache;
class RtfsGuestModule;
}
namespace proxy {
struct Limits;
}

class WasmProvider : public Provider {
  public:
    WasmProvider();
    // Keeps the decoded RTFS guest between processes in module_store_dir instead of the per-user
    // boot cache directory (used only if trusted; empty: not kept), and with it the snapshot of
    // the initialised guest; guest_snapshots false: every RTFS run initialises the guest afresh.
    explicit WasmProvider(std::string module_store_dir, bool guest_snapshots = true);
    ~WasmProvider() override;

    std::string_view name() const override { return "wasm"; }
    Isolation isolation() const override { return Isolation::Wasm; }
    std::vector<ProgramKind> runs() const override { return {ProgramKind::Wasm, ProgramKind::Rtfs}; }
    Availability availability() const override;
    // {"module_cache_entries": N, "module_cache_mb": M}: the compiled-module cache bounds; and
    // the egress proxy's settings for allow/block lists, as every provider that opens one takes
    // (host::egress_settings_schema: network_max_connections, network_refused_ranges, ...).
    nlohmann::json config_schema() const override;
    std::vector<Unsupported> check(const ExecutionContext& ctx) const override;

    struct CacheStats {
        uint64_t hits = 0;
        uint64_t misses = 0;
        size_t entries = 0;
        // RTFS guest loads that took the module decoded by an earlier process (module store).
        uint64_t rtfs_guest_store_loads = 0;
    };
    CacheStats cache_stats() const;

  protected:
    Expected<void> do_initialize(const nlohmann::json& settings) override;
    void do_cleanup() override;
    ExecutionResult run(const ExecutionContext& ctx, const CancelToken& cancel) override;

  private:
    // http_proxy: the egress proxy's URL under a host list (http_fetch goes through it).
    ExecutionResult run_module_program(const ExecutionContext& ctx, const WasmModule& program,
                                       const CancelToken& cancel, const std::string& http_proxy);
    ExecutionResult run_rtfs(const ExecutionContext& ctx, const RtfsSource& program,
                             const CancelToken& cancel, const std::string& http_proxy);

    std::unique_ptr<wasm::ModuleCache> cache_;
    std::unique_ptr<wasm::RtfsGuestModule> rtfs_guest_;
    std::unique_ptr<proxy::Limits> egress_limits_;  // from the settings (do_initialize)
};

// Path of rtfs-guest.wasm (the RTFS runtime for wasm32-wasi): $MICROVM_RTFS_WASM when set, else
// the first of kRtfsWasmGuest's places (beside the executable, ../rtfs-wasm/, the build tree's
// copy; microvm/built_programs.hpp). Unavailable (with the reason) when none exists.
Expected<std::string> find_rtfs_guest_wasm();

}  // namespace microvm
