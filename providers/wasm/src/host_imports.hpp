// Binds a module's imports to the engine's host functions: "wasi_snapshot_preview1" (WASI
// preview1; names the engine does not implement get a stub returning ENOSYS) and "microvm"
// (http_fetch). Anything else makes the module unrunnable: InvalidInput naming the import.
#pragma once

#include "microvm/error.hpp"
#include "run_state.hpp"
#include "wabt/interp/interp.h"

namespace microvm::wasm {

// One extern per import of desc, in order, created in store and bound to state.
Expected<wabt::interp::RefVec> bind_imports(wabt::interp::Store& store,
                                            const wabt::interp::ModuleDesc& desc, RunState& state);

// The host function rewritten memory.grow instructions call (see module_compiler.hpp): grows
// memory 0 of the instance and records in state when memory_limit_mb refused the growth.
// cap_binding: whether the cap, not the module's own declared maximum, is the effective limit.
wabt::interp::HostFunc::Ptr make_grow_hook(wabt::interp::Store& store, RunState& state,
                                           wabt::interp::Memory* memory, bool cap_binding);

}  // namespace microvm::wasm
