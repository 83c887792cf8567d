// ccos.math.add, the spec's harmless test capability (section 6): (call :ccos.math.add 1 2) or
// (call :ccos.math.add {:a 1 :b 2}). A capability is the host's to offer; this one is pure, so
// every host that offers it (the default host, the wasm guest's, the tests') shares this one
// definition and a program gets the same answer wherever it runs.
#pragma once

#include <span>

#include "rtfs/value.hpp"

namespace rtfs {

// Two numbers, or a map with both :a and :b (keyword or string keys): their sum, an integer when
// both are. Wrong arity: ArityMismatch; not numbers or no map: TypeError; a key missing:
// InvalidArgument; integer overflow: Overflow.
Result<Value> math_add(std::span<const Value> args);

}  // namespace rtfs
