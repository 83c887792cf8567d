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

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>

#include "engine.hpp"

namespace microvm::wasm {

inline constexpr uint64_t kInterpreterAllowance = 512ull << 20;
inline constexpr std::chrono::milliseconds kDeadlineGrace{250};

struct ConfinedRunOutcome {
    RunOutcome outcome;
    // The source as the child compiled it, sent back in the module codec's form
    // (module_codec.hpp) and decoded here as hostile input (every index, branch and stack height
    // checked), for the host's cache. nullptr: a module was given, the source did not compile,
    // or it holds what the codec does not carry (SIMD, reference and table instructions, ...).
    std::shared_ptr<const CompiledModule> compiled;
};

// As run_module, in a confined child, of module; or, where module is nullptr, of source
// compiled in that child, so that wabt's text parser, binary reader and validator never act on a
// module's bytes in the host either. metadata.provider_details["engine_process"] says how the
// child was confined.
ConfinedRunOutcome run_module_confined(const CompiledModule* module, std::span<const uint8_t> source,
                                       const MicroVMConfig& config, const RunRequest& request);

}  // namespace microvm::wasm
