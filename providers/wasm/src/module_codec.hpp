// A CompiledModule as bytes, so the decoded RTFS guest can be kept between processes
// (module_store.hpp) and a one-shot run skips wabt's decoding and validation.
//
// The interpreter trusts decoded code, so these bytes are as powerful as the binary: they are
// only ever read from a trusted file (module_store.cpp). Decoding still treats them as hostile
// input: every read is bounds-checked, counts are bounded by the bytes left, enums and indices are
// range-checked, a whole-file checksum catches truncation and corruption, and any mismatch gives
// nullptr (the caller decodes the module again) rather than a crash.
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
