// Type predicates and type-name.
#include "stdlib/stdlib.hpp"

namespace rtfs::stdlib {
namespace {

template <bool (*Test)(const Value&)>
Result<Value> pred(Interpreter&, std::span<Value> a) {
    return Value::boolean(Test(a[0]));
}

bool is_nil(const Value& v) { return v.is_nil(); }
bool is_bool(const Value& v) { return v.is(Type::Bool); }
bool is_int(const Value& v) { return v.is(Type::Int); }
bool is_float(const Value& v) { return v.is(Type::Float); }
bool is_number(const Value& v) { return v.is_number(); }
bool is_string(const Value& v) { return v.is(Type::String); }
bool is_keyword(const Value& v) { return v.is(Type::Keyword); }
bool is_symbol(const Value& v) { return v.is(Type::Symbol); }
bool is_map(const Value& v) { return v.is(Type::Map); }
bool is_vector(const Value& v) { return v.is(Type::Vector); }
bool is_list(const Value& v) { return v.is(Type::List); }
bool is_set(const Value& v) { return v.is(Type::Set); }
bool is_coll(const Value& v) { return v.is_seq() || v.is(Type::Map) || v.is(Type::Set); }
bool is_fn(const Value& v) { return v.is(Type::Function) || v.is(Type::Builtin); }
bool is_true(const Value& v) { return v.is(Type::Bool) && v.as_bool(); }
bool is_false(const Value& v) { return v.is(Type::Bool) && !v.as_bool(); }
bool is_some(const Value& v) { return !v.is_nil(); }

Result<Value> type_name_of(Interpreter&, std::span<Value> a) { return make_string(type_name(a[0])); }

}  // namespace

void add_predicates(std::vector<BuiltinDef>& t) {
    t.insert(t.end(), {
        {"nil?", 1, 1, pred<is_nil>},
        {"bool?", 1, 1, pred<is_bool>},
        {"boolean?", 1, 1, pred<is_bool>},
        {"int?", 1, 1, pred<is_int>},
        {"integer?", 1, 1, pred<is_int>},
        {"float?", 1, 1, pred<is_float>},
        {"number?", 1, 1, pred<is_number>},
        {"string?", 1, 1, pred<is_string>},
        {"keyword?", 1, 1, pred<is_keyword>},
        {"symbol?", 1, 1, pred<is_symbol>},
        {"map?", 1, 1, pred<is_map>},
        {"vector?", 1, 1, pred<is_vector>},
        {"list?", 1, 1, pred<is_list>},
        {"set?", 1, 1, pred<is_set>},
        {"coll?", 1, 1, pred<is_coll>},
        {"fn?", 1, 1, pred<is_fn>},
        {"true?", 1, 1, pred<is_true>},
        {"false?", 1, 1, pred<is_false>},
        {"some?", 1, 1, pred<is_some>},
        {"type-name", 1, 1, type_name_of},
    });
}

}  // namespace rtfs::stdlib
