// One module's run in a confined fork of the host (host/confined_fork.hpp), not in the host
// itself: the interpreter (wabt), the WASI and "microvm" host functions and libcurl act on
// hostile input there, so that a bug in any of them (an assertion, a runaway allocation, a
// memory-safety fault) is the end or the compromise of that child, never of the CLI or of
// microvmd. The child runs run_module (engine.hpp) on the module the host compiled, which it has
// by the fork (nothing copied); its output comes back as it is written, its outcome at the end.
//
// On top of the engine's own checks the child has:
//   - the system-call filter of a confined fork; sockets only where the policy lets the module
//     fetch (a Unix socket to the egress proxy under allow/block lists, the Internet under full);
//   - Landlock where the kernel has it: the preopens of the fs policy as granted (read-only or
//     writable), and, where the module may fetch, the files libcurl reads (its libraries, CA
//     certificates, the resolver's configuration); nothing else;
//   - an address-space limit: what it had at the fork plus twice memory_limit_mb plus
//     kInterpreterAllowance (the interpreter's own memory, which linear memory does not count);
//   - the deadline enforced by the kernel: killed kDeadlineGrace after it, whatever it is doing
//     (the engine's own check normally ends it first, with its figures), and on cancellation.
// Its CPU time is the kernel's (wait4), added to the host's own for compiling.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "engine.hpp"

namespace microvm::wasm {

inline constexpr uint64_t kInterpreterAllowance = 512ull << 20;
inline constexpr std::chrono::milliseconds kDeadlineGrace{250};

// As run_module, in a confined child, of module; or, where module is nullptr, of source
// compiled in that child (one compile_module_confined could not bring back). The child sends
// nothing back that the host keeps beyond this run's result: a run's child may have been taken
// over by its input, so its word never reaches the cache (red team, 2026-12-07).
// metadata.provider_details["engine_process"] says how the child was confined.
RunOutcome run_module_confined(const CompiledModule* module, std::span<const uint8_t> source,
                               const MicroVMConfig& config, const RunRequest& request);

// A module's bytes compiled in a confined child of their own, with no files and no sockets, that
// runs nothing of the module: wabt's text parser, binary reader and validator never act on a
// module's bytes in the host. The child sends the module back in the module codec's form
// (module_codec.hpp), decoded here as hostile input (every index, branch target and stack height
// checked), for the cache. nullptr (not an error): valid, but holding what the codec does not
// carry (SIMD, reference and table instructions, ...): compiled again in each run's child.
// InvalidProgram with the compiler's message for an invalid module, or naming how its process
// ended.
// Held to the run's deadline (and kCompileDeadline) and its cancellation; cpu_time gets the
// compiler's CPU time, the kernel's count (wait4), however it ended.
struct CompileRefusal {
    Reason reason = Reason::InvalidProgram;  // Timeout, Cancelled, SetupError (the host's) too
    std::string message;
};
rtfs::Expected<std::shared_ptr<const CompiledModule>, CompileRefusal> compile_module_confined(
    std::span<const uint8_t> bytes, std::chrono::steady_clock::time_point deadline,
    const std::atomic<bool>* cancel, std::chrono::nanoseconds& cpu_time);

}  // namespace microvm::wasm
