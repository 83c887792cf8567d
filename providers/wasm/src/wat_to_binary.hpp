// WAT text -> binary module, with wabt's parser and writer.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "microvm/error.hpp"

namespace microvm::wasm {

// Upper bound of the block nesting in WAT text (folded parentheses and flat block/loop/if/try ...
// end), from a linear scan that skips strings and comments. wabt's parser recurses per level, so
// this is checked before parsing.
uint32_t wat_nesting_estimate(std::string_view text);

// InvalidInput with the parser's or validator's messages when the text is not a valid module.
Expected<std::vector<uint8_t>> wat_to_binary(std::span<const uint8_t> text);

}  // namespace microvm::wasm
