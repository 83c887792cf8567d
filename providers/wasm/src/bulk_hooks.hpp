// The host functions that rewritten memory.fill/copy/init and table.fill/copy/init call
// (module_compiler.hpp). Each checks its bounds before touching anything (a trap leaves memory
// and tables as they were, as the wasm spec requires), then does the work in chunks
// (limits::kBulkChunkBytes, kBulkChunkElements) and ends the run with a trap, state.timed_out
// or state.cancelled set, once the deadline has passed or cancellation was requested.
#pragma once

#include <vector>

#include "compiled_module.hpp"
#include "run_state.hpp"
#include "wabt/interp/interp.h"

namespace microvm::wasm {

// Appends to funcs (the instance's function space, which ends with the grow hook) the hooks at
// the indices CompiledModule names; memory0 is null when the module has no memory (then the
// memory hooks are placeholders no valid instruction calls). Returns the functions, which the
// caller keeps alive for the run.
std::vector<wabt::interp::HostFunc::Ptr> append_bulk_hooks(wabt::interp::Store& store,
                                                           RunState& state,
                                                           wabt::interp::Instance& inst,
                                                           wabt::interp::Memory* memory0,
                                                           const CompiledModule& module,
                                                           wabt::interp::RefVec& funcs);

}  // namespace microvm::wasm
