// A CompiledModule as bytes, so the decoded RTFS guest can be kept between processes
// (module_store.hpp) and a one-shot run skips wabt's decoding and validation.
//
// The interpreter trusts decoded code, so these bytes are as powerful as the binary: they are
// read from a trusted file (module_store.cpp) and from the module's own compiler's process
// (engine_process.hpp), which a module that took it over speaks for; the code runs only in
// confined children. Decoding treats them as hostile input, and any mismatch gives nullptr (the
// caller compiles the .wasm again) rather than a crash; what the module holds in memory is
// measured here, never taken from the bytes:
//   - every read is bounds-checked, counts are bounded by the bytes left, enums are range-checked,
//     and a whole-file checksum catches truncation and corruption (not forgery);
//   - the structure: code offsets inside the instruction stream, local and handler ranges, export,
//     start, segment and element indices inside their spaces, the engine's own bounds;
//   - the instruction stream, against the module itself (one linear pass; it adds about 3.5 ms to
//     loading the 1.9 MB guest, which wabt takes 30-50 ms to decode): every opcode is one of the
//     scalar instructions wabt's compiler emits (anything else, SIMD, atomics, reference, table and
//     exception instructions and tail calls included, is refused, as are non-scalar types in
//     signatures, locals and globals, imported tables and tags); every immediate the interpreter
//     indexes with is inside the module's spaces (defined functions for call, imported ones or the
//     engine's memory.grow and bulk memory hooks for call_import, globals, memories, data segments, tables and
//     types for call_indirect); every branch, br_unless and br_table entry lands on an
//     instruction start inside the same function;
//     no function falls through into the next; the value-stack height at every reachable
//     instruction is the same on every path to it and covers what the instruction pops, the local
//     depths it names and drop_keep's counts, and return leaves exactly the function's results;
//     init expressions hold only constants, global.get of globals set up before them, and numeric
//     instructions, as () -> (one scalar); exports and the start function have the types the
//     engine calls them with.
// Not checked, so a forged store that passes can still make the guest compute something else,
// trap or loop until its timeout (but not, as far as the interpreter's code was reviewed for wabt
// 1.0.32, touch host memory outside the guest's own):
//   - value types: heights are tracked, types are not; an instruction may consume a scalar of
//     another type (all scalars share one Value union; no reference can reach the stack);
//   - semantics: constants, memory offsets, which in-range function, global or local is named,
//     data segment bytes, element lists and global initial values;
//   - unreachable code: only its opcodes and instruction boundaries (it never runs);
//   - function handlers (try ranges): left as consistent() checks them; no accepted instruction
//     throws, so the interpreter never consults them;
//   - import names and types: matched against the host's functions at instantiation, as for any
//     module; memory and table sizes: the engine's limits apply as for any module.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace microvm::wasm {

struct CompiledModule;

// nullopt when the module holds something the format does not carry.
std::optional<std::string> encode_module(const CompiledModule& module, std::string_view key);

// The bytes are: 8 bytes of magic, then module_checksum() of the rest (u64), then the rest.
// Exposed so tests can forge files that pass the checksum and reach the parser.
uint64_t module_checksum(std::string_view rest);

// The module encoded under exactly this key, or nullptr (another key, another format, truncated,
// corrupt or inconsistent bytes).
std::shared_ptr<const CompiledModule> decode_module(std::string_view bytes, std::string_view key);

}  // namespace microvm::wasm
