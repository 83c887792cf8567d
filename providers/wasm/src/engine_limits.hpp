// Fixed limits of the wasm engine itself, protecting the host from hostile modules. The
// per-execution limits (timeout, memory, output) come from MicroVMConfig; these bound what the
// interpreter allocates on the host beyond linear memory.
#pragma once

#include <cstddef>
#include <cstdint>

namespace microvm::wasm::limits {

inline constexpr size_t kMaxModuleBytes = 16u << 20;      // binary or WAT input
inline constexpr uint32_t kMaxWatNesting = 1000;          // WAT parsing recurses per level
inline constexpr uint32_t kMaxLocalsPerFunction = 50000;  // same bound as V8
inline constexpr uint64_t kMaxTableElements = 1u << 20;   // 8 MiB of references per table
inline constexpr size_t kMaxCallDepth = 20000;            // wasm call frames
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
