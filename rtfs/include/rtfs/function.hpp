// Callable values: closures (FnObj) and the standard library's native builtins (BuiltinDef).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "rtfs/value.hpp"

namespace rtfs {

class Interpreter;
struct FnNode;  // an analysed `fn` form (internal to the evaluator)

struct FnObj final : Object {
    const FnNode* code;
    std::shared_ptr<const void> owner;  // keeps the analysed program holding `code` alive
    std::vector<Value> captures;        // values of the free variables, copied at creation
    FnObj(const FnNode* c, std::shared_ptr<const void> o, size_t ncaptures);
    const std::string& name() const;
};

inline const FnObj& Value::fn() const { return *static_cast<const FnObj*>(u_.o); }

// A builtin receives its arguments as owned temporaries: it may move from them, and may update
// a unique() collection argument in place.
using BuiltinFn = Result<Value> (*)(Interpreter& interp, std::span<Value> args);

struct BuiltinDef {
    const char* name;
    int min_args;
    int max_args;  // -1: variadic
    BuiltinFn fn;
};

inline constexpr int kVariadic = -1;

}  // namespace rtfs
