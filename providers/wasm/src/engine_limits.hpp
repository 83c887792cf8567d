// Fixed limits of the wasm engine itself, protecting the host from hostile modules. The
// per-execution limits (timeout, memory, output) come from MicroVMConfig; these bound what the
// interpreter allocates on the host beyond linear memory.
#pragma once

#include <cstddef>
#include <cstdint>

#include "microvm/wasm_module_limit.hpp"

namespace microvm::wasm::limits {

// Binary or WAT input.
inline constexpr size_t kMaxModuleBytes = kMaxWasmModuleBytes;
inline constexpr uint32_t kMaxWatNesting = 1000;          // WAT parsing recurses per level
// Types, imports, functions, globals and exports, each (a binary's counts, a text's declarations).
inline constexpr uint64_t kMaxModuleItems = 200000;
// Words and parentheses of WAT text (a string literal is one): wabt's text parser builds its
// whole IR, tens to hundreds of host bytes per token, before any count of the binary is checked
// or the deadline runs (2.7M `(func)` in 16 MB took 1.58 GB and 31 s, red team 2026-12-05).
// Larger modules come in binary form.
inline constexpr uint64_t kMaxWatTokens = 2u << 20;
inline constexpr uint32_t kMaxLocalsPerFunction = 50000;  // same bound as V8
// References in all of a module's tables together (8 MiB), at the start and after any
// table.grow: the engine shares what the initial sizes leave among the tables as their maximums
// (100 tables of 2^20 each took 829 MB from a 540-byte module).
inline constexpr uint64_t kMaxTableElements = 1u << 20;
inline constexpr uint32_t kMaxTables = 100;
// table.init, table.copy and table.fill each become a call of a hook of their own per distinct
// instruction, made again for every run: 2.6M of them (15 MB) took 1 GB of host memory.
inline constexpr uint64_t kMaxTableInstructions = 4096;
// Values the validator type-checks against a signature beyond the first few of each instruction
// (a call's parameters and results, a branch's or return's label, a typed block's): each costs
// host CPU for 1-4 bytes of input, before any deadline applies (1M `return` from a function of
// 1000 results took 6.5 s of CPU). 4M values is a few tens of ms.
inline constexpr uint64_t kMaxCheckedSignatureValues = 1u << 22;
inline constexpr uint64_t kFreeCheckedValuesPerInstruction = 8;
// Entries of all element segments together: each costs wabt about 26 host bytes for 1 byte of
// input, and no table needs more than kMaxTableElements.
inline constexpr uint64_t kMaxElementEntries = kMaxTableElements;
// Signatures: the JS API's limits per function type (as V8 and wabt's own web embedding).
inline constexpr uint32_t kMaxParamsPerType = 1000;
inline constexpr uint32_t kMaxResultsPerType = 1000;
// wabt copies a function's whole signature (8 bytes a value) into every function, import and
// tag, and again when validating and instantiating (about 4 copies): one 1000-parameter type
// shared by 100 functions took 2.4 GB from a 1 MB module. 1M values is 8 MiB a copy (~35 MB
// peak at the limit), and 5 per function at the most functions a module may have (real code:
// 2-4).
inline constexpr uint64_t kMaxSignatureValues = 1u << 20;
// The validator keeps a label (~150 bytes, plus a copy of a typed block's signature) per open
// block: 5M nested blocks took 726 MB. 100,000 levels (~15 MB) is beyond compiled code (a C
// switch lowers to one block per case) and beyond wasmparser, whose 128 KiB cap on a function
// body allows about 64K.
inline constexpr uint32_t kMaxBlockNesting = 100000;
// Labels the decoder walks for branches: a `br`, `br_if` or `br_table` target costs it as many
// steps as the target is deep, a `return` as many as are open (50k blocks and 400k `br 49999`
// took 22 s of CPU; 1M `br_table` to 100k levels 126 s, past SIGTERM; red team 2026-12-05).
// 2^26 steps is well under a second; real code branches a few levels out.
inline constexpr uint64_t kMaxBranchLabelSteps = 1u << 26;
// Local declaration entries (a count and a type each; zero counts are valid): wabt keeps ~80
// host bytes per entry, and 8M entries of count 0 took 665 MB from a 16 MB module (red team
// 2026-12-05). Per function as many as it may have locals, in all 2^20.
inline constexpr uint64_t kMaxLocalDeclarations = 1u << 20;
inline constexpr uint64_t kMaxOpenBlockSignatureValues = kMaxSignatureValues;
// Results beyond the first that calls and typed blocks push onto the validator's stack (8 bytes
// each, from a 2-byte call; 4M calls of a 1000-result function passed 1 GB): real code rarely
// returns more than one value.
inline constexpr uint64_t kMaxExtraResults = kMaxSignatureValues;
inline constexpr size_t kMaxCallDepth = 20000;  // wasm call frames
// rtfs-guest.wasm: deep enough that the guest's own 8 MiB shadow stack runs out first, so deep
// RTFS recursion ends in a clean RecursionLimit (about 12,000 RTFS calls) rather than a trap.
// wabt reserves the frames up front (~40 bytes each, untouched until used).
inline constexpr size_t kRtfsGuestCallDepth = 400000;
inline constexpr size_t kMaxValueStack = 4u << 20;        // 64 MiB of interpreter values
inline constexpr size_t kValueGrowthPerSlice = 1u << 20;  // values one slice may push, at most
inline constexpr int kSliceInstructions = 20000;          // fuel per slice between checks
// Work a bulk instruction hook (bulk_hooks.hpp) does between checks of the deadline and the
// cancel flag: well under a millisecond each.
inline constexpr uint64_t kBulkChunkBytes = 1u << 20;
inline constexpr uint32_t kBulkChunkElements = 64u << 10;
inline constexpr uint32_t kMaxOpenFiles = 1024;           // guest file descriptors
inline constexpr size_t kMaxHttpResponseBytes = 16u << 20;
inline constexpr size_t kModuleCacheEntries = 32;
inline constexpr size_t kModuleCacheBytes = 512u << 20;

}  // namespace microvm::wasm::limits
