// A host function the engine offers to modules: a name in an import module, its wasm parameter
// types and a handler returning an errno-style i32.
#pragma once

#include <cstdint>
#include <string_view>

#include "run_state.hpp"
#include "wabt/interp/interp.h"

namespace microvm::wasm {

using HostHandler = uint32_t (*)(RunState&, const wabt::interp::Values& params);

struct HostFunction {
    std::string_view name;
    std::string_view params;  // one letter per parameter: 'i' = i32, 'I' = i64; result is i32
    HostHandler handler;
};

// Reads parameter i as u32 / u64.
inline uint32_t u32_at(const wabt::interp::Values& p, size_t i) {
    return p[i].Get<uint32_t>();
}
inline uint64_t u64_at(const wabt::interp::Values& p, size_t i) {
    return p[i].Get<uint64_t>();
}

}  // namespace microvm::wasm
