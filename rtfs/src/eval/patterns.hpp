// Binding and match patterns: symbols, `_`, literals, `[a b & rest :as all]`,
// `{:keys [a b] :strs [c] :as m x :k}`, `(:as name p)`.
#pragma once

#include <memory>
#include <vector>

#include "rtfs/value.hpp"

namespace rtfs {

struct Pattern {
    enum class Kind { Bind, Ignore, Literal, Seq, Map, As };
    Kind kind = Kind::Ignore;
    uint32_t slot = 0;           // Bind; As
    Value literal;               // Literal
    std::vector<Pattern> elems;  // Seq elements; Map entry patterns; As: elems[0]
    std::unique_ptr<Pattern> rest;
    std::vector<Value> keys;     // Map: key looked up for elems[i]
    bool has_as = false;         // Seq / Map `:as name`
    uint32_t as_slot = 0;
};

struct FrameAccess;
class Interpreter;

// Destructuring (let, fn params, loop): missing elements bind nil; a non-collection where a
// collection pattern stands is a TypeError.
Expected<void, Error> destructure(const Pattern& p, const Value& v, Value* frame);
// Matching (match): returns false when v does not fit; binds slots as it goes.
bool match_pattern(const Pattern& p, const Value& v, Value* frame);

}  // namespace rtfs
