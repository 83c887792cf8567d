// How a binding's type annotation may be written (spec section 1), read from the forms of a
// binding vector, a parameter list or a def. Pure syntax: errors are ReadErrors without a
// position, which the analyser gives the form's.
#pragma once

#include <memory>
#include <span>

#include "eval/types.hpp"

namespace rtfs {

// A separate annotation at xs[i]: `:int`, `: Int`, and `[:vector :int]` when allow_vector.
// Returns how many forms it used (0: there is none).
Result<size_t> read_annotation(std::span<const Value> xs, size_t i, bool allow_vector,
                               std::unique_ptr<TypeSpec>* out);

// A name with its annotation written on it, the reference's own form: `x:int` is one symbol,
// `xs:[:vector :int]` reads as the symbol `xs:` and the type's form. Sets *name to the name
// alone (to xs[i] itself when that is no such symbol) and *type; returns the forms used (1, 2).
Result<size_t> read_annotated_name(std::span<const Value> xs, size_t i, Value* name,
                                   std::unique_ptr<TypeSpec>* type);

// A binding name (or pattern) at xs[i] with its annotation in any of the forms: attached, or
// separate after it. A separate one counts only when at least `then` more forms follow it (a
// let binding's value: (let [x :a] x) binds :a). Returns the forms used.
Result<size_t> read_binding(std::span<const Value> xs, size_t i, bool allow_vector, size_t then,
                            Value* name, std::unique_ptr<TypeSpec>* type);

}  // namespace rtfs
