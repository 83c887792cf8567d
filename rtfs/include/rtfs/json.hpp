// JSON <-> RTFS values, without exceptions (the same code serves the parse-json and
// serialize-json builtins and the wasm32-wasi guest runner).
//
// Parsing: objects become maps with string keys in document order (a repeated key keeps its
// first position and its last value), arrays vectors, true/false/null booleans and nil; a
// number without fraction or exponent that fits in 64 bits is an integer, any other number a
// float. Escapes include \uXXXX with surrogate pairs; a lone surrogate is an error. Nesting
// deeper than kMaxDepth is refused. Errors are InvalidArgument and end with " at line:column"
// (column in characters).
//
// Serializing: compact, or with 2-space indentation when pretty. Keywords and symbols become
// strings without the colon (as values and as keys); integer, float and boolean keys become
// their printed text; lists, vectors and sets become arrays. Floats use the shortest text that
// reads back to the same double; NaN and infinities are an InvalidArgument error, strings that
// are not valid UTF-8 too. Functions, errors and nil keys are a TypeError.
//
// Both directions are iterative (an explicit stack), so no input overflows the native stack.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "rtfs/value.hpp"

namespace rtfs::json {

inline constexpr size_t kMaxDepth = 1000;
// By default serialize refuses to produce more text than this (shared substructure can make
// the text far larger than the value): a ResourceLimit error.
inline constexpr size_t kMaxOutputBytes = size_t{1} << 30;

// For callers that run under limits (the RTFS builtins). Every few thousand values `check` is
// called with the number of bytes the operation holds that the heap statistics do not count
// yet; an error it returns aborts the operation. `op` names the operation in error messages
// ("Invalid argument to {op}: ...", "Type error in {op}: ...").
struct Hooks {
    const char* op = nullptr;  // nullptr: "parse-json" / "serialize-json"
    Expected<void, Error> (*check)(void* ctx, size_t pending_bytes) = nullptr;
    void* ctx = nullptr;
    size_t max_output_bytes = kMaxOutputBytes;  // serialize
};

Result<Value> parse(std::string_view text);
Result<Value> parse(std::string_view text, const Hooks& hooks);

Result<std::string> serialize(const Value& v, bool pretty = false);
Result<std::string> serialize(const Value& v, bool pretty, const Hooks& hooks);

}  // namespace rtfs::json
