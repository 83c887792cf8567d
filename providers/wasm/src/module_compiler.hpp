// Turns untrusted module bytes (binary, or WAT text converted on load) into a CompiledModule:
// decoding and validation by wabt, then the engine's own checks and rewrites.
//
// memory.grow rewrite: the interpreter executes memory.grow internally, so a refusal by the
// memory cap would be invisible to the engine. Each memory.grow is rewritten in wabt's internal
// instruction stream into a call of a host function (same encoding size: opcode + u32) that grows
// the memory itself and records refusals; the engine appends that function to the instance.
//
// Bulk rewrite: memory.fill/copy/init and table.fill/copy/init count as one instruction of fuel
// but may touch all of linear memory or a whole table, so one fuel slice could run for minutes
// past the deadline. Each becomes a call of a hook (bulk_hooks.hpp) that does the work in bounded
// chunks and checks the deadline and cancellation between them.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "compiled_module.hpp"
#include "microvm/error.hpp"

namespace microvm::wasm {

bool has_wasm_magic(std::span<const uint8_t> bytes);

// What a compiled module holds in memory, roughly (the cache's measure of it).
size_t module_footprint(const CompiledModule& module);

// Errors are InvalidInput failures carrying wabt's validation message.
Expected<std::shared_ptr<const CompiledModule>> compile_module(std::span<const uint8_t> bytes);

}  // namespace microvm::wasm
