// WAT text -> binary module, with wabt's parser and writer.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "microvm/error.hpp"

namespace microvm::wasm {

// What wabt's text parser would cost, from a linear scan that skips strings and comments, checked
// before parsing: an upper bound of the block nesting (folded parentheses and flat
// block/loop/if/try ... end; the parser recurses per level), the tokens (the IR it builds), and
// the module fields of each kind the binary's counting pass bounds, and whether the text embeds
// a module in binary or quote form (`(module binary "...")`), which wabt decodes or parses unseen.
struct WatScan {
    uint32_t nesting = 0;
    uint64_t tokens = 0;
    uint64_t most_declarations = 0;       // fields of the kind declared most often
    std::string_view most_declared_kind;  // "func", "type", "import", "global", "export"
    bool embedded_module = false;
};
WatScan scan_wat(std::string_view text);

// InvalidInput with the parser's messages when the text is not a valid module. Not validated
// here: the binary goes through the engine's counting pass first, then wabt's validator, as any
// binary does (text validated by wabt before that pass type-checked 2.3M `return`s of a
// 1000-result function for 6.6 s before any limit was seen, red team 2026-12-05).
Expected<std::vector<uint8_t>> wat_to_binary(std::span<const uint8_t> text);

}  // namespace microvm::wasm
