#include "rtfs/math_add.hpp"

#include <string>

namespace rtfs {

namespace {

constexpr const char* kAdd = "ccos.math.add";

Result<Value> add_numbers(const Value& a, const Value& b) {
    if (!a.is_number() || !b.is_number()) {
        const Value& bad = a.is_number() ? b : a;
        return error(ErrorKind::TypeError, std::string("Type error in ") + kAdd +
                                               ": expected number, got " + type_name(bad));
    }
    if (a.is(Type::Int) && b.is(Type::Int)) {
        int64_t sum = 0;
        if (__builtin_add_overflow(a.as_int(), b.as_int(), &sum))
            return error(ErrorKind::Overflow, std::string("Integer overflow in ") + kAdd);
        return Value::integer(sum);
    }
    return Value::floating(a.to_double() + b.to_double());
}

const Value* field(const Value& map, const char* name) {
    if (const Value* v = map.map().find(make_keyword(name))) return v;
    return map.map().find(make_string(name));
}

}  // namespace

Result<Value> math_add(std::span<const Value> args) {
    if (args.empty() || args.size() > 2)
        return error(ErrorKind::ArityMismatch, std::string("Arity mismatch in ") + kAdd +
                                                   ": expected 1 to 2, got " +
                                                   std::to_string(args.size()));
    if (args.size() == 2) return add_numbers(args[0], args[1]);
    if (!args[0].is(Type::Map))
        return error(ErrorKind::TypeError, std::string("Type error in ") + kAdd +
                                               ": expected map {:a n :b n}, got " +
                                               type_name(args[0]));
    const Value* a = field(args[0], "a");
    const Value* b = field(args[0], "b");
    if (!a || !b)
        return error(ErrorKind::InvalidArgument,
                     std::string(kAdd) + ": the map needs both :a and :b");
    return add_numbers(*a, *b);
}

}  // namespace rtfs
