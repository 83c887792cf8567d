// One module's compile and run each in a confined child of the host executing the engine's
// program (microvm-wasm-engine, engine_main.hpp; host/confined_fork.hpp), not in the host itself:
// the interpreter (wabt), the WASI and "microvm" host functions and libcurl act on hostile input
// there, so that a bug in any of them (an assertion, a runaway allocation, a memory-safety fault)
// is the end or the compromise of that process, which holds nothing of the host's memory (no
// token, no key of microvmd's), never of the CLI or of microvmd. The host sends the program the
// execution's config and the module (engine_request.hpp); output comes back as it is written, the
// outcome at the end.
//
// On top of the engine's own checks the run's process has:
//   - the system-call filter of a confined child; sockets only where the policy lets the module
//     fetch (a Unix socket to the egress proxy under allow/block lists, the Internet under full);
//   - Landlock where the kernel has it: the preopens of the fs policy as granted (read-only or
//     writable), and, where the module may fetch, the files libcurl reads (its libraries, CA
//     certificates, the resolver's configuration); nothing else;
//   - an address-space limit: what it had at its start plus twice memory_limit_mb plus
//     kInterpreterAllowance (the interpreter's own memory, which linear memory does not count);
//   - the deadline enforced by the kernel: killed kDeadlineGrace after it, whatever it is doing
//     (the engine's own check normally ends it first, with its figures), and on cancellation.
// Its CPU time is the kernel's (wait4), added to the compiler's.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "engine.hpp"

namespace microvm::wasm {

// Long enough for the program's own end at the deadline, with its figures, on a loaded machine
// (250 ms was not, under a sanitizer during a parallel build: the kill came first and the run's
// memory peak was lost); a hung program is killed this long after its deadline.
inline constexpr std::chrono::milliseconds kDeadlineGrace{1000};

// As run_module, in the engine's program, of module; or, where module is nullptr, of source
// compiled there (one compile_module_confined could not bring back). SetupError naming it when
// the program is not found or not trusted (microvm/built_programs.hpp). The child sends
// nothing back that the host keeps beyond this run's result: a run's child may have been taken
// over by its input, so its word never reaches the cache (red team, 2026-12-07).
// metadata.provider_details["engine_process"] says how the child was confined.
RunOutcome run_module_confined(const CompiledModule* module, std::span<const uint8_t> source,
                               const MicroVMConfig& config, const RunRequest& request);

// A module's bytes compiled in the engine's program, with no files and no sockets, running
// nothing of the module: wabt's text parser, binary reader and validator never act on a
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
