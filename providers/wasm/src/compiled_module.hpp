// A decoded, validated module ready to instantiate; shared read-only between executions through
// the module cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "wabt/interp/interp.h"

namespace microvm::wasm {

struct CompiledModule {
    // Validated by wabt. The start section is removed (the engine runs the start function itself,
    // in fuel slices) and every memory.grow calls the grow hook instead (see module_compiler.hpp).
    wabt::interp::ModuleDesc desc;
    std::optional<uint32_t> start_func;
    uint32_t grow_hook_func = 0;  // function index (after imports and definitions) of the hook
    uint32_t max_locals = 0;      // largest local count of any function (bounds a fuel slice)
    size_t footprint_bytes = 0;   // approximate host memory, for the cache bound
};

}  // namespace microvm::wasm
