#include "eval/types.hpp"

#include <cctype>

#include "rtfs/printer.hpp"

namespace rtfs {

namespace {

struct PrimName {
    const char* name;
    TypeSpec::Kind kind;
};
constexpr PrimName kPrims[] = {
    {"int", TypeSpec::Kind::Int},         {"integer", TypeSpec::Kind::Int},
    {"float", TypeSpec::Kind::Float},     {"double", TypeSpec::Kind::Float},
    {"number", TypeSpec::Kind::Number},   {"string", TypeSpec::Kind::String},
    {"bool", TypeSpec::Kind::Bool},       {"boolean", TypeSpec::Kind::Bool},
    {"nil", TypeSpec::Kind::Nil},         {"keyword", TypeSpec::Kind::Keyword},
    {"symbol", TypeSpec::Kind::Symbol},   {"any", TypeSpec::Kind::Any},
    {"never", TypeSpec::Kind::Never},     {"vector", TypeSpec::Kind::Vector},
    {"list", TypeSpec::Kind::List},       {"map", TypeSpec::Kind::Map},
    {"fn", TypeSpec::Kind::Function},     {"function", TypeSpec::Kind::Function},
};

// "Int", ":int", "int?" -> base name in lower case and whether it is optional.
bool prim_kind(std::string name, TypeSpec::Kind* kind, bool* optional) {
    *optional = false;
    if (!name.empty() && name.back() == '?') {
        *optional = true;
        name.pop_back();
    }
    if (!name.empty()) name[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[0])));
    for (const auto& p : kPrims) {
        if (name == p.name) {
            *kind = p.kind;
            return true;
        }
    }
    return false;
}

std::unique_ptr<TypeSpec> spec(TypeSpec::Kind k) {
    auto t = std::make_unique<TypeSpec>();
    t->kind = k;
    return t;
}

std::unique_ptr<TypeSpec> optional_of(std::unique_ptr<TypeSpec> inner) {
    auto t = spec(TypeSpec::Kind::Optional);
    t->params.push_back(std::move(inner));
    return t;
}

Unexpected<Error> bad_type(const Value& form, const std::string& why) {
    return unexpected(Error(ErrorKind::ReadError, "invalid type " + print(form) + ": " + why));
}

}  // namespace

bool looks_like_type(const Value& form) {
    if (form.is(Type::Keyword) || form.is(Type::Symbol)) {
        TypeSpec::Kind k;
        bool opt;
        return prim_kind(form.str(), &k, &opt);
    }
    return form.is(Type::Vector) && !form.items().empty() && form.items()[0].is(Type::Keyword);
}

Result<std::unique_ptr<TypeSpec>> parse_type(const Value& form) {
    if (form.is(Type::Keyword) || form.is(Type::Symbol)) {
        TypeSpec::Kind k;
        bool opt;
        if (!prim_kind(form.str(), &k, &opt)) return bad_type(form, "unknown type name");
        auto t = spec(k);
        return opt ? optional_of(std::move(t)) : std::move(t);
    }
    if (!form.is(Type::Vector) || form.items().empty() || !form.items()[0].is(Type::Keyword))
        return bad_type(form, "expected a type name or [:kind ...]");
    const auto& xs = form.items();
    const std::string& head = xs[0].str();
    auto params_from = [&](size_t from, TypeSpec::Kind k) -> Result<std::unique_ptr<TypeSpec>> {
        auto t = spec(k);
        for (size_t i = from; i < xs.size(); ++i) {
            RTFS_TRY(auto p, parse_type(xs[i]));
            t->params.push_back(std::move(p));
        }
        return t;
    };
    if (head == "vector" || head == "list") {
        if (xs.size() != 2) return bad_type(form, "[:" + head + " T] takes one element type");
        return params_from(1, head == "vector" ? TypeSpec::Kind::Vector : TypeSpec::Kind::List);
    }
    if (head == "map-of") {
        if (xs.size() != 3) return bad_type(form, "[:map-of K V] takes two types");
        return params_from(1, TypeSpec::Kind::MapOf);
    }
    if (head == "tuple") return params_from(1, TypeSpec::Kind::Tuple);
    if (head == "union" || head == "or") return params_from(1, TypeSpec::Kind::Union);
    if (head == "optional" || head == "maybe") {
        if (xs.size() != 2) return bad_type(form, "[:optional T] takes one type");
        RTFS_TRY(auto inner, parse_type(xs[1]));
        return optional_of(std::move(inner));
    }
    if (head == "enum") {
        auto t = spec(TypeSpec::Kind::Enum);
        t->values.assign(xs.begin() + 1, xs.end());
        return t;
    }
    if (head == "map") {
        auto t = spec(TypeSpec::Kind::Map);
        for (size_t i = 1; i < xs.size(); ++i) {
            const Value& f = xs[i];
            if (!f.is(Type::Vector) || f.items().size() < 2 || f.items().size() > 3)
                return bad_type(form, "[:map ...] fields are [:key T] or [:key T ?]");
            TypeSpec::Field field;
            field.key = f.items()[0];
            RTFS_TRY(field.type, parse_type(f.items()[1]));
            if (f.items().size() == 3) {
                const Value& q = f.items()[2];
                if (!((q.is(Type::Symbol) || q.is(Type::Keyword)) && q.str() == "?"))
                    return bad_type(form, "the third element of a field must be ?");
                field.optional = true;
            }
            t->fields.push_back(std::move(field));
        }
        return t;
    }
    TypeSpec::Kind k;
    bool opt;
    if (xs.size() == 1 && prim_kind(head, &k, &opt)) return parse_type(xs[0]);
    return bad_type(form, "unknown type constructor :" + head);
}

namespace {

// The elements of a sequence against a [:vector T] / [:list T] / [:tuple ...] type.
bool items_conform(std::span<const Value> items, const TypeSpec& t) {
    if (t.kind == TypeSpec::Kind::Tuple) {
        if (items.size() != t.params.size()) return false;
        for (size_t i = 0; i < t.params.size(); ++i)
            if (!conforms(items[i], *t.params[i])) return false;
        return true;
    }
    if (t.params.empty()) return true;
    for (const auto& x : items)
        if (!conforms(x, *t.params[0])) return false;
    return true;
}

bool is_sequence_type(const TypeSpec& t) {
    using K = TypeSpec::Kind;
    return t.kind == K::Vector || t.kind == K::List || t.kind == K::Tuple;
}

}  // namespace

bool conforms(const Value& v, const TypeSpec& t) {
    using K = TypeSpec::Kind;
    switch (t.kind) {
        case K::Any: return true;
        case K::Never: return false;
        case K::Int: return v.is(Type::Int);
        case K::Float: return v.is_number();  // an int is accepted where a float is expected
        case K::Number: return v.is_number();
        case K::String: return v.is(Type::String);
        case K::Bool: return v.is(Type::Bool);
        case K::Nil: return v.is_nil();
        case K::Keyword: return v.is(Type::Keyword);
        case K::Symbol: return v.is(Type::Symbol);
        case K::Function: return v.is(Type::Function) || v.is(Type::Builtin);
        case K::Vector:
        case K::List:
            if (!(t.kind == K::Vector ? v.is(Type::Vector) : v.is(Type::List))) return false;
            return items_conform(v.items(), t);
        case K::Map: {
            if (!v.is(Type::Map)) return false;
            for (const auto& f : t.fields) {
                const Value* x = v.map().find(f.key);
                if (!x) {
                    if (!f.optional) return false;
                    continue;
                }
                if (!conforms(*x, *f.type)) return false;
            }
            return true;
        }
        case K::MapOf:
            if (!v.is(Type::Map)) return false;
            for (const auto& [k, x] : v.map().entries())
                if (!conforms(k, *t.params[0]) || !conforms(x, *t.params[1])) return false;
            return true;
        case K::Tuple: return v.is_seq() && items_conform(v.items(), t);
        case K::Union:
            for (const auto& p : t.params)
                if (conforms(v, *p)) return true;
            return false;
        case K::Enum:
            for (const auto& x : t.values)
                if (equals(x, v)) return true;
            return false;
        case K::Optional: return v.is_nil() || conforms(v, *t.params[0]);
    }
    return false;
}

bool conforms_rest(const Value& rest, const TypeSpec& t) {
    static const std::vector<Value> kNone;
    if (!rest.is_nil() && !rest.is_seq()) return false;  // (recur ...) may hand anything over
    const auto& items = rest.is_nil() ? kNone : rest.items();
    if (is_sequence_type(t)) return items_conform(items, t);
    for (const auto& x : items)
        if (!conforms(x, t)) return false;
    return true;
}

bool conforms_binding(const Value& v, const TypeSpec& t, bool rest) {
    return rest ? conforms_rest(v, t) : conforms(v, t);
}

Error annotation_error(const std::string& name, const TypeSpec& t, const Value& v, bool rest) {
    std::string expected = describe(t);
    if (rest) expected += is_sequence_type(t) ? " (the extra arguments)" : " for each extra argument";
    return Error(ErrorKind::TypeValidationError,
                 "Type validation failed for " + name + ": expected " + expected + ", got " +
                     type_name(v) + " " + print(v));
}

std::string describe(const TypeSpec& t) {
    using K = TypeSpec::Kind;
    auto list = [&](const char* head) {
        std::string s = std::string("[:") + head;
        for (const auto& p : t.params) s += " " + describe(*p);
        return s + "]";
    };
    switch (t.kind) {
        case K::Any: return "any";
        case K::Never: return "never";
        case K::Int: return "int";
        case K::Float: return "float";
        case K::Number: return "number";
        case K::String: return "string";
        case K::Bool: return "bool";
        case K::Nil: return "nil";
        case K::Keyword: return "keyword";
        case K::Symbol: return "symbol";
        case K::Function: return "fn";
        case K::Vector: return t.params.empty() ? "vector" : list("vector");
        case K::List: return t.params.empty() ? "list" : list("list");
        case K::MapOf: return list("map-of");
        case K::Tuple: return list("tuple");
        case K::Union: return list("union");
        case K::Optional: return describe(*t.params[0]) + "?";
        case K::Enum: {
            std::string s = "[:enum";
            for (const auto& v : t.values) s += " " + print(v);
            return s + "]";
        }
        case K::Map: {
            std::string s = "[:map";
            for (const auto& f : t.fields)
                s += " [" + print(f.key) + " " + describe(*f.type) + (f.optional ? " ?]" : "]");
            return s + "]";
        }
    }
    return "any";
}

}  // namespace rtfs
