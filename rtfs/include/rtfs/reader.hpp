// The reader: RTFS source text to forms (plain values). Errors carry line:column. It never
// crashes, hangs or recurses without bound: nesting deeper than kMaxReadDepth is a ReadError.
#pragma once

#include <cstdint>
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
// What one entry costs (node, bucket, allocator): the reader charges it to the heap of the
// evaluation reading (current_heap_stats()), whose owner gives it back with the map.
inline constexpr int64_t kSourcePositionBytes = 48;

// Reads every form in src. Within an evaluation, its limits hold while it reads (poll_limits,
// charge_alloc): the deadline, cancellation and the memory limit.
Result<std::vector<Value>> read_all(std::string_view src, SourcePositions* positions = nullptr);
// Whether src ends inside a form, a string or a block comment, or after a ' or #_ that wants a
// form: more text could complete it (a REPL reads another line). False for text that reads, and
// for text with something wrong in it.
bool ends_inside_a_form(std::string_view src);
// Reads exactly one form (trailing whitespace/comments allowed).
Result<Value> read_one(std::string_view src);

}  // namespace rtfs
