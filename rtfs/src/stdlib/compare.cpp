// Equality, ordering and logic.
#include <cmath>

#include "stdlib/stdlib.hpp"

namespace rtfs::stdlib {
namespace {

Result<Value> eq(Interpreter&, std::span<Value> a) {
    for (size_t i = 1; i < a.size(); ++i)
        if (!equals(a[0], a[i])) return Value::boolean(false);
    return Value::boolean(true);
}

Result<Value> not_equal(Interpreter& in, std::span<Value> a) {
    RTFS_TRY(Value e, eq(in, a));
    return Value::boolean(!e.as_bool());
}

bool is_nan(const Value& v) { return v.is(Type::Float) && std::isnan(v.as_float()); }

// < > <= >= over numbers or strings, chained: (< 1 2 3).
template <bool (*Holds)(int)>
Result<Value> ordered(const char* name, std::span<Value> a) {
    for (size_t i = 0; i < a.size(); ++i) {
        const Value& v = a[i];
        if (!v.is_number() && !v.is(Type::String)) return type_error(name, "number or string", v);
        if (i > 0 && v.is(Type::String) != a[0].is(Type::String))
            return type_error(name, a[0].is(Type::String) ? "string" : "number", v);
    }
    for (size_t i = 0; i + 1 < a.size(); ++i) {
        // NaN is unordered: every ordered comparison with it is false (compare_values, which
        // sorting needs total, calls it equal to every number).
        if (is_nan(a[i]) || is_nan(a[i + 1])) return Value::boolean(false);
        RTFS_TRY(int c, compare_values(a[i], a[i + 1]));
        if (!Holds(c)) return Value::boolean(false);
    }
    return Value::boolean(true);
}

bool lt(int c) { return c < 0; }
bool gt(int c) { return c > 0; }
bool le(int c) { return c <= 0; }
bool ge(int c) { return c >= 0; }

Result<Value> less(Interpreter&, std::span<Value> a) { return ordered<lt>("<", a); }
Result<Value> greater(Interpreter&, std::span<Value> a) { return ordered<gt>(">", a); }
Result<Value> less_eq(Interpreter&, std::span<Value> a) { return ordered<le>("<=", a); }
Result<Value> greater_eq(Interpreter&, std::span<Value> a) { return ordered<ge>(">=", a); }

Result<Value> not_(Interpreter&, std::span<Value> a) { return Value::boolean(!a[0].truthy()); }

Result<Value> compare(Interpreter&, std::span<Value> a) {
    RTFS_TRY(int c, compare_values(a[0], a[1]));
    return Value::integer(c);
}

}  // namespace

void add_compare(std::vector<BuiltinDef>& t) {
    t.insert(t.end(), {
        {"=", 1, kVariadic, eq},
        {"not=", 1, kVariadic, not_equal},
        {"!=", 1, kVariadic, not_equal},
        {"<", 1, kVariadic, less},
        {">", 1, kVariadic, greater},
        {"<=", 1, kVariadic, less_eq},
        {">=", 1, kVariadic, greater_eq},
        {"not", 1, 1, not_},
        {"compare", 2, 2, compare},
    });
}

}  // namespace rtfs::stdlib
