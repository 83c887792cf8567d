// The largest WebAssembly module (binary or WAT) the wasm engine accepts: the engine refuses
// beyond it, and whoever reads a module for it (the CLI) reads no further.
#pragma once

#include <cstddef>

namespace microvm {

inline constexpr size_t kMaxWasmModuleBytes = 16u << 20;

}  // namespace microvm
