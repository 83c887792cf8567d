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
Result<std::unique_ptr<TypeSpec>> parse_type(const Value& form);
bool conforms(const Value& v, const TypeSpec& t);
std::string describe(const TypeSpec& t);

// The annotation of a rest binding (`& xs : T`, spec section 1) is about the extra arguments,
// `rest` (nil or a sequence of them): a sequence type ([:vector T], [:list T], [:tuple ...])
// checks them as one sequence, any other type checks each of them.
bool conforms_rest(const Value& rest, const TypeSpec& t);
// conforms, or conforms_rest for a rest binding.
bool conforms_binding(const Value& v, const TypeSpec& t, bool rest);
// The TypeValidationError of a binding whose value does not conform: it names the binding.
Error annotation_error(const std::string& name, const TypeSpec& t, const Value& v, bool rest);

}  // namespace rtfs
