// Arithmetic with numeric contagion (int unless a float is involved) and checked overflow.
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "rtfs/ascii_text.hpp"
#include "rtfs/reader.hpp"
#include "stdlib/stdlib.hpp"

namespace rtfs::stdlib {
namespace {

Unexpected<Error> overflow(const char* op) {
    return unexpected(Error(ErrorKind::Overflow, std::string("Integer overflow in ") + op));
}
Unexpected<Error> div_zero() { return unexpected(Error(ErrorKind::DivisionByZero, "Division by zero")); }

enum class Op { Add, Sub, Mul };

Result<Value> arith2(const char* name, Op op, const Value& a, const Value& b) {
    if (!a.is_number()) return type_error(name, "number", a);
    if (!b.is_number()) return type_error(name, "number", b);
    if (a.is(Type::Int) && b.is(Type::Int)) {
        int64_t r = 0;
        bool o = op == Op::Add   ? __builtin_add_overflow(a.as_int(), b.as_int(), &r)
                 : op == Op::Sub ? __builtin_sub_overflow(a.as_int(), b.as_int(), &r)
                                 : __builtin_mul_overflow(a.as_int(), b.as_int(), &r);
        if (o) return overflow(name);
        return Value::integer(r);
    }
    double x = a.to_double(), y = b.to_double();
    return Value::floating(op == Op::Add ? x + y : op == Op::Sub ? x - y : x * y);
}

Result<Value> fold(const char* name, Op op, std::span<Value> a) {
    if (a.size() == 1) {
        if (!a[0].is_number()) return type_error(name, "number", a[0]);
        // A float's negation, not 0 - x: (- 0.0) is -0.0, as in Clojure.
        if (op == Op::Sub && a[0].is(Type::Float)) return Value::floating(-a[0].as_float());
        if (op == Op::Sub) return arith2(name, op, Value::integer(0), a[0]);
        return a[0];
    }
    Value acc = a[0];
    for (size_t i = 1; i < a.size(); ++i) {
        RTFS_TRY(acc, arith2(name, op, acc, a[i]));
    }
    return acc;
}

Result<Value> add(Interpreter&, std::span<Value> a) { return fold("+", Op::Add, a); }
Result<Value> sub(Interpreter&, std::span<Value> a) { return fold("-", Op::Sub, a); }
Result<Value> mul(Interpreter&, std::span<Value> a) { return fold("*", Op::Mul, a); }

Result<Value> divide2(const Value& a, const Value& b) {
    if (!a.is_number()) return type_error("/", "number", a);
    if (!b.is_number()) return type_error("/", "number", b);
    if (b.to_double() == 0.0) return div_zero();
    if (a.is(Type::Int) && b.is(Type::Int)) {
        int64_t x = a.as_int(), y = b.as_int();
        if (x == std::numeric_limits<int64_t>::min() && y == -1) return overflow("/");
        if (x % y == 0) return Value::integer(x / y);
        return Value::floating(static_cast<double>(x) / static_cast<double>(y));
    }
    return Value::floating(a.to_double() / b.to_double());
}

Result<Value> divide(Interpreter&, std::span<Value> a) {
    if (a.size() == 1) return divide2(Value::integer(1), a[0]);
    Value acc = a[0];
    for (size_t i = 1; i < a.size(); ++i) {
        RTFS_TRY(acc, divide2(acc, a[i]));
    }
    return acc;
}

// mod, rem: remainder with the dividend's sign; quot: truncating quotient.
Result<Value> int_division(const char* name, bool quotient, const Value& a, const Value& b) {
    if (!a.is_number()) return type_error(name, "number", a);
    if (!b.is_number()) return type_error(name, "number", b);
    if (b.to_double() == 0.0) return div_zero();
    if (a.is(Type::Int) && b.is(Type::Int)) {
        int64_t x = a.as_int(), y = b.as_int();
        if (y == -1) return quotient ? arith2(name, Op::Sub, Value::integer(0), a) : Value::integer(0);
        return Value::integer(quotient ? x / y : x % y);
    }
    double x = a.to_double(), y = b.to_double();
    return Value::floating(quotient ? std::trunc(x / y) : std::fmod(x, y));
}

Result<Value> mod(Interpreter&, std::span<Value> a) { return int_division("mod", false, a[0], a[1]); }
Result<Value> rem(Interpreter&, std::span<Value> a) { return int_division("rem", false, a[0], a[1]); }
Result<Value> quot(Interpreter&, std::span<Value> a) { return int_division("quot", true, a[0], a[1]); }

Result<Value> inc(Interpreter&, std::span<Value> a) { return arith2("inc", Op::Add, a[0], Value::integer(1)); }
Result<Value> dec(Interpreter&, std::span<Value> a) { return arith2("dec", Op::Sub, a[0], Value::integer(1)); }

Result<Value> abs_(Interpreter&, std::span<Value> a) {
    if (a[0].is(Type::Int)) {
        if (a[0].as_int() == std::numeric_limits<int64_t>::min()) return overflow("abs");
        return Value::integer(std::llabs(a[0].as_int()));
    }
    if (a[0].is(Type::Float)) return Value::floating(std::fabs(a[0].as_float()));
    return type_error("abs", "number", a[0]);
}

// A NaN among the arguments is the answer, wherever it is (as Clojure's max and min): compared,
// NaN is neither above nor below, so the answer depended on the order.
Result<Value> extreme(const char* name, bool want_max, std::span<Value> a) {
    Value best = a[0];
    if (!best.is_number()) return type_error(name, "number", best);
    for (size_t i = 1; i < a.size(); ++i) {
        if (!a[i].is_number()) return type_error(name, "number", a[i]);
        if (best.is(Type::Float) && std::isnan(best.as_float())) continue;
        if (a[i].is(Type::Float) && std::isnan(a[i].as_float())) {
            best = a[i];
            continue;
        }
        RTFS_TRY(int c, compare_values(a[i], best));
        if (want_max ? c > 0 : c < 0) best = a[i];
    }
    return best;
}
Result<Value> max_(Interpreter&, std::span<Value> a) { return extreme("max", true, a); }
Result<Value> min_(Interpreter&, std::span<Value> a) { return extreme("min", false, a); }

Result<Value> sqrt_(Interpreter&, std::span<Value> a) {
    RTFS_TRY(double x, number_arg("sqrt", a[0]));
    if (x < 0) return invalid_argument("sqrt", "square root of a negative number");
    return Value::floating(std::sqrt(x));
}

Result<Value> pow_(Interpreter&, std::span<Value> a) {
    if (!a[0].is_number()) return type_error("pow", "number", a[0]);
    if (!a[1].is_number()) return type_error("pow", "number", a[1]);
    if (a[0].is(Type::Int) && a[1].is(Type::Int) && a[1].as_int() >= 0) {
        int64_t base = a[0].as_int(), e = a[1].as_int(), r = 1;
        while (e > 0) {
            if (e & 1) {
                if (__builtin_mul_overflow(r, base, &r)) return overflow("pow");
            }
            e >>= 1;
            if (e > 0 && __builtin_mul_overflow(base, base, &base)) return overflow("pow");
        }
        return Value::integer(r);
    }
    return Value::floating(std::pow(a[0].to_double(), a[1].to_double()));
}

Result<Value> factorial(Interpreter&, std::span<Value> a) {
    RTFS_TRY(int64_t n, int_arg("factorial", a[0]));
    if (n < 0) return invalid_argument("factorial", "factorial of a negative number");
    int64_t r = 1;
    for (int64_t i = 2; i <= n; ++i)
        if (__builtin_mul_overflow(r, i, &r)) return overflow("factorial");
    return Value::integer(r);
}

Result<Value> even(Interpreter&, std::span<Value> a) {
    RTFS_TRY(int64_t n, int_arg("even?", a[0]));
    return Value::boolean(n % 2 == 0);
}
Result<Value> odd(Interpreter&, std::span<Value> a) {
    RTFS_TRY(int64_t n, int_arg("odd?", a[0]));
    return Value::boolean(n % 2 != 0);
}
Result<Value> zero(Interpreter&, std::span<Value> a) {
    RTFS_TRY(double x, number_arg("zero?", a[0]));
    return Value::boolean(x == 0);
}
Result<Value> pos(Interpreter&, std::span<Value> a) {
    RTFS_TRY(double x, number_arg("pos?", a[0]));
    return Value::boolean(x > 0);
}
Result<Value> neg(Interpreter&, std::span<Value> a) {
    RTFS_TRY(double x, number_arg("neg?", a[0]));
    return Value::boolean(x < 0);
}

// Whether t is one number literal and nothing else: [+-]digits[.digits][(e|E)[+-]digits]
// (no ##Inf / ##NaN, no comment, no second form). Wider than the reader's grammar, which wants a
// dot in a float: "1e5" is a number in the data parse-float reads (JSON's grammar has it).
bool is_number_literal(const std::string& t) {
    auto digits = [&](size_t& i) {
        const size_t from = i;
        while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
        return i > from;
    };
    size_t i = 0;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (!digits(i)) return false;
    if (i < t.size() && t[i] == '.') {
        ++i;
        if (!digits(i)) return false;
    }
    if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
        ++i;
        if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
        if (!digits(i)) return false;
    }
    return i == t.size();
}

// The number a string holds exactly once trimmed, or nil: the text must be a number literal
// alone. An integer is read as source reads it (64-bit range included); a float by strtod, as
// the reader does.
Value parse_number(const std::string& s, bool want_int) {
    std::string t(rtfs::trim_ascii(s));
    if (!is_number_literal(t)) return Value();
    if (t.find_first_of(".eE") != std::string::npos) {
        if (want_int) return Value();
        // "1e400" is a literal of the grammar whose value overflows: no number, as ##Inf is none.
        const double d = std::strtod(t.c_str(), nullptr);
        return std::isfinite(d) ? Value::floating(d) : Value();
    }
    auto r = read_one(t);
    if (!r || !r->is(Type::Int)) return Value();
    return want_int ? *r : Value::floating(static_cast<double>(r->as_int()));
}

// d truncated toward zero, or nil when that is no 64-bit integer (NaN and infinities included).
Value truncated(double d) {
    d = std::trunc(d);
    if (!(d >= -9.2233720368547758e18 && d < 9.2233720368547758e18)) return Value();
    return Value::integer(static_cast<int64_t>(d));
}

// parse-int / parse-float take a number too, as the reference does: (parse-int 3.7) is 3.
Result<Value> parse_int(Interpreter&, std::span<Value> a) {
    const Value& v = a[0];
    if (v.is(Type::Int)) return v;
    if (v.is(Type::Float)) return truncated(v.as_float());
    RTFS_TRY(const std::string* s, string_arg("parse-int", v));
    return parse_number(*s, true);
}
Result<Value> parse_float(Interpreter&, std::span<Value> a) {
    const Value& v = a[0];
    if (v.is_number()) return Value::floating(v.to_double());
    RTFS_TRY(const std::string* s, string_arg("parse-float", v));
    return parse_number(*s, false);
}

Result<Value> to_int(Interpreter&, std::span<Value> a) {
    const Value& v = a[0];
    if (v.is(Type::Int)) return v;
    if (v.is(Type::Float)) {
        Value i = truncated(v.as_float());
        if (i.is_nil()) return overflow("int");
        return i;
    }
    if (v.is(Type::String)) {
        // An integer's digits as that integer: through a double, "9007199254740993" lost its
        // last digit and "9223372036854775807" (past the double's range once rounded) was 0.
        if (Value exact = parse_number(v.str(), true); exact.is(Type::Int)) return exact;
        Value n = parse_number(v.str(), false);
        Value i = n.is(Type::Float) ? truncated(n.as_float()) : Value();
        return i.is_nil() ? Value::integer(0) : i;
    }
    if (v.is(Type::Bool)) return Value::integer(v.as_bool() ? 1 : 0);
    return Value::integer(0);
}

// (float x) mirrors int: numbers and numeric strings convert, true is 1.0, anything else 0.0.
Result<Value> to_float(Interpreter&, std::span<Value> a) {
    const Value& v = a[0];
    if (v.is_number()) return Value::floating(v.to_double());
    if (v.is(Type::String)) {
        Value n = parse_number(v.str(), false);
        return n.is(Type::Float) ? n : Value::floating(0.0);
    }
    if (v.is(Type::Bool)) return Value::floating(v.as_bool() ? 1.0 : 0.0);
    return Value::floating(0.0);
}

}  // namespace

void add_numeric(std::vector<BuiltinDef>& t) {
    t.insert(t.end(), {
        {"+", 1, kVariadic, add},
        {"-", 1, kVariadic, sub},
        {"*", 1, kVariadic, mul},
        {"/", 1, kVariadic, divide},
        {"mod", 2, 2, mod},
        {"rem", 2, 2, rem},
        {"quot", 2, 2, quot},
        {"inc", 1, 1, inc},
        {"dec", 1, 1, dec},
        {"abs", 1, 1, abs_},
        {"max", 1, kVariadic, max_},
        {"min", 1, kVariadic, min_},
        {"sqrt", 1, 1, sqrt_},
        {"pow", 2, 2, pow_},
        {"factorial", 1, 1, factorial},
        {"even?", 1, 1, even},
        {"odd?", 1, 1, odd},
        {"zero?", 1, 1, zero},
        {"pos?", 1, 1, pos},
        {"neg?", 1, 1, neg},
        {"parse-int", 1, 1, parse_int},
        {"parse-float", 1, 1, parse_float},
        {"int", 1, 1, to_int},
        {"float", 1, 1, to_float},
    });
}

}  // namespace rtfs::stdlib
