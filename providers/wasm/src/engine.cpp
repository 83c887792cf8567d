#include "engine.hpp"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "bulk_hooks.hpp"
#include "compiled_module.hpp"
#include "cpu_pacing.hpp"
#include "engine_limits.hpp"
#include "snapshot_state.hpp"
#include "host_imports.hpp"
#include "microvm/errors.hpp"
#include "run_state.hpp"
#include "unfilled_memory.hpp"
#include "wabt_internals.hpp"

namespace microvm::wasm {
namespace {

namespace wi = wabt::interp;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kPageBytes = 64 * 1024;
constexpr uint64_t kMaxPages = 65536;  // 4 GiB, the wasm32 limit

struct Failed {
    Reason reason;
    std::string message;
};

// Caps linear memory at memory_limit_mb and tables at the engine limit, in this run's copy of
// the module description. cap_binding: whether the cap, not the module's own maximum, limits
// memory 0.
std::optional<Failed> apply_limits(wi::ModuleDesc& desc, uint64_t cap_pages, uint64_t limit_mb,
                                   bool& cap_binding) {
    cap_binding = false;
    for (size_t i = 0; i < desc.memories.size(); ++i) {
        wabt::Limits& l = desc.memories[i].type.limits;
        if (l.initial > cap_pages) {
            return Failed{Reason::MemoryExceeded,
                          "the module declares an initial linear memory of " +
                              std::to_string(l.initial * kPageBytes >> 20) +
                              " MiB, above memory_limit_mb " + std::to_string(limit_mb)};
        }
        uint64_t own_max = l.has_max ? l.max : kMaxPages;
        if (i == 0) cap_binding = cap_pages < own_max;
        l.max = std::min(own_max, cap_pages);
        l.has_max = true;
    }
    // All tables together hold at most kMaxTableElements references, grown or not: what the
    // initial sizes leave is shared among the tables as room to grow (one table: all of it).
    uint64_t initial = 0;
    for (const auto& table : desc.tables) initial += table.type.limits.initial;
    const uint64_t room = desc.tables.empty() || initial >= limits::kMaxTableElements
                              ? 0
                              : (limits::kMaxTableElements - initial) / desc.tables.size();
    for (auto& table : desc.tables) {
        wabt::Limits& l = table.type.limits;
        l.max = std::min<uint64_t>(l.has_max ? l.max : UINT32_MAX, l.initial + room);
        l.has_max = true;
    }
    return std::nullopt;
}

// The function exported as name, when it is defined by the module with type [] -> [].
wi::DefinedFunc::Ptr exported_command(wi::Store& store, const wi::Module& mod,
                                      const wi::Instance& inst, const std::string& name) {
    const auto& exports = mod.desc().exports;
    for (size_t i = 0; i < exports.size(); ++i) {
        if (exports[i].type.name != name || exports[i].type.type->kind != wabt::ExternalKind::Func)
            continue;
        wi::Ref ref = inst.exports()[i];
        if (!store.Is<wi::DefinedFunc>(ref)) return {};
        wi::DefinedFunc::Ptr f = store.UnsafeGet<wi::DefinedFunc>(ref);
        if (!f->type().params.empty() || !f->type().results.empty()) return {};
        return f;
    }
    return {};
}

wi::Memory* guest_memory(wi::Store& store, const wi::Module& mod, const wi::Instance& inst) {
    const auto& exports = mod.desc().exports;
    for (size_t i = 0; i < exports.size(); ++i) {
        if (exports[i].type.name == "memory" &&
            exports[i].type.type->kind == wabt::ExternalKind::Memory) {
            return store.UnsafeGet<wi::Memory>(inst.exports()[i]).get();
        }
    }
    if (inst.memories().empty()) return nullptr;
    return store.UnsafeGet<wi::Memory>(inst.memories()[0]).get();
}

enum class Ended { Returned, Trapped, Timeout, Cancelled };

// Runs func on thread in fuel slices, pacing the CPU share and checking the deadline and the
// value stack before each slice: the first check counts what came before it (instantiating
// 200,000 globals, imports and segments took 1.6 s, and a run whose module then returned at
// once was `ok` under a 100 ms timeout: red team, 2026-12-07).
//
// wabt notes the stack index of every reference value pushed (Thread::refs_), for its garbage
// collector alone, and forgets an entry only on a plain pop: a branch that discards references
// (DropKeep) or a host call's parameters leave theirs behind. An 8-instruction loop of
// `ref.null` and `br` piled up 350 MB a second under --memory 16, and every later DropKeep
// scanned the pile: one slice of a 61 KB module ran 58 s past a 1 s deadline, cancellation
// waiting (red team, 2026-12-07). The list is cleared after each slice, so it holds at most
// what one slice pushed. Nothing else reads it: the engine never runs Store::Collect, which
// would mark from it (and must not be called: after a clear it would not see live references).
Ended run_sliced(wi::Thread& thread, const wi::DefinedFunc& func, const CompiledModule& module,
                 const RunState& state, std::string& trap_message) {
    wi::Trap::Ptr trap;
    auto trapped = [&] {
        trap_message = trap ? trap->message() : "trap";
        return Ended::Trapped;
    };
    if (internals::push_call(thread, func, &trap) == wi::RunResult::Trap) return trapped();
    const int slice = static_cast<int>(
        std::clamp<size_t>(limits::kValueGrowthPerSlice / std::max<uint32_t>(1, module.max_locals),
                           1, limits::kSliceInstructions));
    for (;;) {
        state.pace();
        if (state.cancel_requested()) return Ended::Cancelled;
        if (Clock::now() >= state.deadline) return Ended::Timeout;
        if (internals::values(thread).size() > limits::kMaxValueStack) {
            trap_message = "value stack exhausted";
            return Ended::Trapped;
        }
        wi::RunResult r = thread.Run(slice, &trap);
        internals::refs(thread).clear();
        if (r == wi::RunResult::Return) return Ended::Returned;
        if (r == wi::RunResult::Trap) return trapped();
        if (r == wi::RunResult::Exception) {
            trap_message = "uncaught exception";
            return Ended::Trapped;
        }
    }
}

// Instantiates and runs; fills out, returns the failure when the run could not happen or ended
// badly.
// capture: run the start function and request.init_export only, and take the snapshot there.
std::optional<Failed> execute(const CompiledModule& module, const MicroVMConfig& config,
                              RunState& state, const RunRequest& request,
                              ExecutionMetadata& meta, GuestSnapshot* capture = nullptr) {
    // Destruction order matters: everything holding store references dies before the store.
    wi::Store store;
    wi::ModuleDesc desc = module.desc;
    bool cap_binding = false;
    if (auto refused =
            apply_limits(desc, state.memory_cap_pages, config.memory_limit_mb, cap_binding)) {
        return refused;
    }
    auto imports = bind_imports(store, desc, state);
    if (!imports) return Failed{Reason::InvalidProgram, imports.error().message};
    // Instantiated with the pages its data segments reach, then given the rest of its declared
    // initial memory unfilled (unfilled_memory.hpp); the cap was checked above on the full size.
    std::optional<uint64_t> declared_pages;
    if (auto needed = data_segment_pages(desc)) {
        uint64_t& initial = desc.memories[0].type.limits.initial;
        if (*needed < initial) declared_pages = std::exchange(initial, *needed);
    }

    wi::Module::Ptr mod = wi::Module::New(store, std::move(desc));
    wi::Trap::Ptr trap;
    wi::Instance::Ptr inst = wi::Instance::Instantiate(store, mod.ref(), *imports, &trap);
    if (!inst) {
        return Failed{Reason::InvalidProgram,
                      "the module could not be instantiated: " +
                          (trap ? trap->message() : std::string("unknown error"))};
    }
    wi::Memory* memory0 =
        inst->memories().empty() ? nullptr : store.UnsafeGet<wi::Memory>(inst->memories()[0]).get();
    if (memory0 && declared_pages) extend_with_unfilled_pages(*memory0, *declared_pages);
    // What rewritten memory.grow and bulk instructions call (module_compiler.hpp).
    wi::HostFunc::Ptr grow_hook;
    std::vector<wi::HostFunc::Ptr> bulk_hooks;
    {
        wi::RefVec& funcs = internals::funcs(*inst);
        if (funcs.size() != module.grow_hook_func) {  // guards the wabt internals we rely on
            return Failed{Reason::SetupError,
                          "unexpected function count after instantiation"};
        }
        if (memory0) {
            grow_hook = make_grow_hook(store, state, memory0, cap_binding);
            funcs.push_back(grow_hook.ref());
        }
        bulk_hooks = append_bulk_hooks(store, state, *inst, memory0, module, funcs);
    }
    state.memory = guest_memory(store, *mod, *inst);
    auto command = [&](const std::string& name) -> std::variant<wi::DefinedFunc::Ptr, Failed> {
        if (wi::DefinedFunc::Ptr f = exported_command(store, *mod, *inst, name)) return f;
        return Failed{Reason::InvalidProgram,
                      "the module has no " + name + " function of type () -> () defined in it" +
                          (name == "_start" ? " (a WASI command module is expected)" : "")};
    };
    auto entry = command(request.run_export);
    if (auto* missing = std::get_if<Failed>(&entry)) return *missing;
    std::optional<InstantiatedState> fresh;
    if (capture) fresh = observe_instantiated(store, *inst);
    const bool restored = request.snapshot && !request.init_export.empty() && !capture &&
                          restore_snapshot(store, *inst, *request.snapshot);

    wi::Thread thread(store);
    // The call depth limit (wabt traps when the reserved frames are used up).
    internals::frames(thread).reserve(state.max_call_depth);
    std::string trap_message;
    Ended ended = Ended::Returned;
    if (module.start_func && !restored) {
        wi::Ref ref = inst->funcs()[*module.start_func];
        if (!store.Is<wi::DefinedFunc>(ref)) {
            return Failed{Reason::InvalidProgram,
                          "the start function must be defined in the module, not imported"};
        }
        wi::DefinedFunc::Ptr f = store.UnsafeGet<wi::DefinedFunc>(ref);
        ended = run_sliced(thread, *f, module, state, trap_message);
    }
    if (ended == Ended::Returned && !request.init_export.empty() && !restored) {
        auto init = command(request.init_export);
        if (auto* missing = std::get_if<Failed>(&init)) return *missing;
        state.initialising = true;
        ended = run_sliced(thread, *std::get<wi::DefinedFunc::Ptr>(init), module, state, trap_message);
        state.initialising = false;
    }
    if (capture) {
        if (ended == Ended::Cancelled) return Failed{Reason::Cancelled, reason_message(Reason::Cancelled, config)};
        if (ended != Ended::Returned) {
            return Failed{Reason::InvalidProgram,
                          "the initialisation did not return: " +
                              (trap_message.empty() ? std::string("timeout") : trap_message)};
        }
        auto snapshot = capture_snapshot(store, *inst, *fresh);
        if (!snapshot) {
            return Failed{Reason::InvalidProgram,
                          "the initialised module holds state a snapshot does not carry"};
        }
        *capture = std::move(*snapshot);
        return std::nullopt;
    }
    if (ended == Ended::Returned) {
        ended = run_sliced(thread, *std::get<wi::DefinedFunc::Ptr>(entry), module, state, trap_message);
    }
    uint64_t memory_bytes = 0;
    for (wi::Ref m : inst->memories()) memory_bytes += store.UnsafeGet<wi::Memory>(m)->ByteSize();
    meta.memory_peak_mb = static_cast<double>(memory_bytes) / (1024.0 * 1024.0);

    if (ended == Ended::Cancelled || (ended == Ended::Trapped && state.cancelled)) {
        return Failed{Reason::Cancelled, reason_message(Reason::Cancelled, config)};
    }
    if (ended == Ended::Timeout || (ended == Ended::Trapped && state.timed_out)) {
        return Failed{Reason::Timeout, reason_message(Reason::Timeout, config)};
    }
    const bool exited = ended == Ended::Trapped && state.exit_code.has_value();
    if (ended == Ended::Returned || exited) {
        meta.exit_code = static_cast<int>(state.exit_code.value_or(0));
        if (*meta.exit_code == 0) return std::nullopt;
    }
    std::string what = exited ? "the module exited with code " + std::to_string(*meta.exit_code)
                              : "trap: " + trap_message;
    if (state.grow_refused_by_cap) {
        return Failed{Reason::MemoryExceeded,
                      "linear memory growth was refused at memory_limit_mb " +
                          std::to_string(config.memory_limit_mb) + ", then " + what};
    }
    // The kind already says "trap"; the message is wabt's own ("call stack exhausted", ...).
    return Failed{exited ? Reason::NonzeroExit : Reason::Trap, exited ? what : trap_message};
}

}  // namespace

Expected<FdTable> open_preopens(const FileSystemPolicy& policy, bool result_sink) {
    FdTable table(result_sink);
    RTFS_CHECK(add_preopens(table, policy));
    return table;
}

RunOutcome run_module(const CompiledModule& module, const MicroVMConfig& config,
                      const RunRequest& request) {
    return run_module(module, config, request, open_preopens(config.fs_policy, request.result_sink));
}

RunOutcome run_module(const CompiledModule& module, const MicroVMConfig& config,
                      const RunRequest& request, Expected<FdTable> preopens) {
    const Clock::time_point started = Clock::now();
    const std::chrono::nanoseconds cpu_start = thread_cpu_time();
    RunOutcome outcome;
    RunState state(config, request.result_sink, request.result_cap);
    state.deadline = request.deadline.value_or(started + config.timeout);
    state.memory_cap_pages = std::min<uint64_t>(kMaxPages, config.memory_limit_mb * 16);
    state.args.push_back(request.program_name);
    state.args.insert(state.args.end(), request.args.begin(), request.args.end());
    for (const auto& [name, value] : config.env_vars) state.environ.push_back(name + "=" + value);
    state.stdin_data = request.stdin_data;
    state.max_call_depth = request.max_call_depth ? request.max_call_depth : limits::kMaxCallDepth;
    state.on_output = request.on_output;
    state.cancel = request.cancel;
    state.http_proxy = request.http_proxy;
    state.proxy_socket = request.proxy_socket;
    state.pacing.start(config.cpu_limit, started, cpu_start);

    std::optional<Failed> failed;
    if (!preopens) {
        failed = Failed{Reason::InvalidConfig, preopens.error().message};
    } else {
        state.fds = std::move(*preopens);
        try {
            failed = execute(module, config, state, request, outcome.metadata);
        } catch (const std::bad_alloc&) {
            failed = Failed{Reason::MemoryExceeded,
                            "the host could not allocate memory for the module"};
        } catch (const std::exception& e) {
            failed = Failed{Reason::SetupError, e.what()};
        }
    }
    if (failed) {
        outcome.failure = failed->reason;
        outcome.error_message = std::move(failed->message);
    }
    ExecutionMetadata& meta = outcome.metadata;
    meta.stdout_truncated = state.out.truncated();
    meta.stderr_truncated = state.err.truncated();
    meta.stdout_data = state.out.take();
    meta.stderr_data = state.err.take();
    meta.network_requests = std::move(state.network_requests);
    outcome.result_truncated = state.result.truncated();
    outcome.result_bytes = state.result.take();
    meta.cpu_time = thread_cpu_time() - cpu_start;
    meta.duration = Clock::now() - started;
    meta.isolation = Isolation::Wasm;
    return outcome;
}

Expected<GuestSnapshot> initialise_for_snapshot(const CompiledModule& module,
                                                const std::string& init_export,
                                                size_t max_call_depth, SnapshotBounds bounds) {
    const Clock::time_point started = Clock::now();
    MicroVMConfig config;  // the default memory limit
    config.timeout = std::chrono::seconds(10);
    // Never paced (its pacing is not started): it runs under the guest module's lock
    // (rtfs_guest.cpp), which a pacing sleep would hold.
    RunState state(config, false, 0);
    state.deadline = std::min(started + config.timeout, bounds.deadline);
    state.cancel = bounds.cancel;
    state.memory_cap_pages = config.memory_limit_mb * 16;
    state.max_call_depth = max_call_depth;
    state.refuse_host_calls = true;
    RunRequest request;
    request.init_export = init_export;
    request.run_export = init_export;
    GuestSnapshot snapshot;
    ExecutionMetadata meta;
    std::optional<Failed> failed;
    try {
        failed = execute(module, config, state, request, meta, &snapshot);
    } catch (const std::exception& e) {
        failed = Failed{Reason::SetupError, e.what()};
    }
    // An initialisation that carried on after the cap refused it memory would have gone on
    // differently under a larger memory_limit_mb.
    if (!failed && state.grow_refused_by_cap) {
        failed = Failed{Reason::MemoryExceeded, "the initialisation was refused memory growth"};
    }
    if (failed) {
        if (bounds.interrupted && (failed->reason == Reason::Cancelled || Clock::now() >= bounds.deadline)) {
            *bounds.interrupted = true;
        }
        if (!state.refused_host_call.empty()) {
            failed->message = "the initialisation called the host (" + state.refused_host_call + ")";
        }
        return fail(Failure::Kind::InvalidInput, "no snapshot of the initialised module: " +
                                                     failed->message);
    }
    return snapshot;
}

}  // namespace microvm::wasm
