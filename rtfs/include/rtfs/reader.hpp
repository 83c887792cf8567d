// The reader: RTFS source text to forms (plain values). Errors carry line:column. It never
// crashes, hangs or recurses without bound: nesting deeper than kMaxReadDepth is a ReadError.
#pragma once

#include <string_view>
#include <unordered_map>
#include <vector>

#include "rtfs/value.hpp"

namespace rtfs {

inline constexpr int kMaxReadDepth = 1000;

struct SourcePos {
    int line = 0;
    int column = 0;
};

// Where each list/vector/map/symbol form started, so that later errors can point at source.
using SourcePositions = std::unordered_map<const Object*, SourcePos>;

// Reads every form in src.
Result<std::vector<Value>> read_all(std::string_view src, SourcePositions* positions = nullptr);
// Reads exactly one form (trailing whitespace/comments allowed).
Result<Value> read_one(std::string_view src);

}  // namespace rtfs
