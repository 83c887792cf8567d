// Type annotations: `[x :int]`, `[:vector :int]`, `[:map [:k T] [:k2 T ?]]`, ... checked at run
// time on fn parameters, return values and let bindings.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "rtfs/value.hpp"

namespace rtfs {

struct TypeSpec {
    enum class Kind { Any, Never, Int, Float, Number, String, Bool, Nil, Keyword, Symbol, Vector,
                      List, Map, MapOf, Tuple, Union, Enum, Optional, Function };
    struct Field {
        Value key;
        std::unique_ptr<TypeSpec> type;
        bool optional = false;
    };
    Kind kind = Kind::Any;
    std::vector<std::unique_ptr<TypeSpec>> params;  // element / key+value / members
    std::vector<Field> fields;                      // [:map ...]
    std::vector<Value> values;                      // [:enum ...]
};

// Is form a type annotation (a type keyword, a `[:vector ...]`-style vector, a symbol)?
bool looks_like_type(const Value& form);
// At most 64 levels deep and 1024 nodes (a ReadError beyond), so that checking and describing
// a type is bounded by its size.
Result<std::unique_ptr<TypeSpec>> parse_type(const Value& form);
size_t type_nodes(const TypeSpec& t);
// Whether v conforms to t; an error when the limits (deadline, cancellation, steps) stop the
// check. A shared collection is checked once per type node.
Result<bool> conforms(const Value& v, const TypeSpec& t);
std::string describe(const TypeSpec& t);

// conforms, or, for a rest binding, whether `rest` (nil or a sequence of the extra arguments)
// conforms to the annotation of `& xs : T` (spec section 1): a sequence type ([:vector T],
// [:list T], [:tuple ...]) checks them as one sequence, any other type checks each of them.
Result<bool> conforms_binding(const Value& v, const TypeSpec& t, bool rest);
// The TypeValidationError of a binding whose value does not conform: it names the binding.
Error annotation_error(const std::string& name, const TypeSpec& t, const Value& v, bool rest);

}  // namespace rtfs
