// Binding and match patterns: symbols, `_`, literals, `[a b & rest :as all]`,
// `{:keys [a b] :strs [c] :or {b 0} :as m x :k :y y}`, `(:as name p)`, and names annotated
// in place (`[x:int y:int]`).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "eval/state.hpp"
#include "eval/types.hpp"
#include "rtfs/value.hpp"

namespace rtfs {

struct Node;

struct Pattern {
    enum class Kind { Bind, Ignore, Literal, Seq, Map, As };
    Kind kind = Kind::Ignore;
    uint32_t slot = 0;                      // Bind; As
    std::string name;                       // Bind / Ignore: the name (for :or and messages)
    std::unique_ptr<TypeSpec> type;         // Bind / Ignore: annotation written on the name
    bool rest = false;                      // Bind / Ignore after &: type is a rest binding's
    Value literal;                          // Literal
    std::vector<Pattern> elems;             // Seq elements; Map entry patterns; As: elems[0]
    std::unique_ptr<Pattern> rest_pattern;  // Seq: after &
    std::vector<Value> keys;                // Map: key looked up for elems[i]
    // Map: the :or default of elems[i] (null: none), evaluated when its key is missing. Empty
    // when the pattern has no :or. The analysed unit owns the nodes.
    std::vector<const Node*> defaults;
    bool has_as = false;                    // Seq / Map `:as name`
    uint32_t as_slot = 0;
};

// Destructuring (let, fn params, loop): missing elements bind nil (or their :or default); a
// non-collection where a collection pattern stands is a TypeError, a value that does not fit
// an annotated name a TypeValidationError naming it. Binds into the current frame.
Expected<void, Error> destructure(const Pattern& p, const Value& v, Interpreter::State& st);
// Matching (match): returns false when v does not fit; binds slots as it goes.
bool match_pattern(const Pattern& p, const Value& v, Value* frame);

}  // namespace rtfs
