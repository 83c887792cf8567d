// A cheap first pass over untrusted binary modules, before wabt's decoder allocates in proportion
// to the counts a module declares (functions, types, globals, br_table targets, ...): refuses
// counts far beyond what real programs use, so a small hostile module cannot make the host
// allocate gigabytes.
#pragma once

#include <cstdint>
#include <span>

#include "microvm/error.hpp"

namespace microvm::wasm {

// InvalidInput naming the count and its limit; Ok also for malformed modules (the decoder
// reports those with its own message).
Expected<void> check_declared_counts(std::span<const uint8_t> binary);

}  // namespace microvm::wasm
