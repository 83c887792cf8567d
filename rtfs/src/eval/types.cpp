#include "eval/types.hpp"

#include <set>
#include <span>

#include "rtfs/ascii_text.hpp"
#include "rtfs/interpreter.hpp"
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
    if (!name.empty()) name[0] = lower_ascii(name[0]);
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

// For a type too large to show in its message.
Unexpected<Error> bad_type_short(const std::string& why) {
    return unexpected(Error(ErrorKind::ReadError, "invalid type: " + why));
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

namespace {

// One annotation's bounds: a type is parsed, checked and described by recursion, and a macro
// can write any form as one. A [:vector ...] three million deep overflowed the host's stack, and
// a [:tuple t t] nested 23 levels from a small shared form was 8 million nodes (red team,
// 2026-12-07). Real annotations are a few levels and nodes.
constexpr int kMaxTypeDepth = 64;
constexpr size_t kMaxTypeNodes = 1024;

struct TypeParse {
    size_t nodes = 0;
    Result<std::unique_ptr<TypeSpec>> parse(const Value& form, int depth);
};

}  // namespace

Result<std::unique_ptr<TypeSpec>> parse_type(const Value& form) {
    TypeParse p;
    return p.parse(form, 0);
}

size_t type_nodes(const TypeSpec& t) {
    size_t n = 1;
    for (const auto& p : t.params) n += type_nodes(*p);
    for (const auto& f : t.fields) n += type_nodes(*f.type);
    return n;
}

Result<std::unique_ptr<TypeSpec>> TypeParse::parse(const Value& form, int depth) {
    if (depth > kMaxTypeDepth) return bad_type_short("nested more than " + std::to_string(kMaxTypeDepth) + " levels deep");
    if (++nodes > kMaxTypeNodes) return bad_type_short("more than " + std::to_string(kMaxTypeNodes) + " parts");
    const auto parse_type = [&](const Value& inner) { return parse(inner, depth + 1); };
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
    if (xs.size() == 1 && prim_kind(head, &k, &opt)) return parse(xs[0], depth);
    return bad_type(form, "unknown type constructor :" + head);
}

namespace {

bool is_sequence_type(const TypeSpec& t) {
    using K = TypeSpec::Kind;
    return t.kind == K::Vector || t.kind == K::List || t.kind == K::Tuple;
}

// A value against a type. Every collection entered is work that polls the limits (poll_walk),
// and a shared collection (one reachable by more than one path) is checked against a type node
// once: four levels of (vec (repeat 1000 x)), a few KB of data, were 10^12 checks that ran past
// every deadline and held microvmd's slots through SIGTERM (red team, 2026-12-07).
class Conformance {
  public:
    Result<bool> check(const Value& v, const TypeSpec& t);
    Result<bool> items(std::span<const Value> xs, const TypeSpec& t);

  private:
    Result<bool> check_collection(const Value& v, const TypeSpec& t);
    static constexpr size_t kMemoPairs = 1 << 16;  // the memo's bound (then only polled)
    std::set<std::pair<const void*, const TypeSpec*>> passed_;
    ScopedHeapCharge memo_bytes_;  // the memo, in the heap's live total while it lives
};

Result<bool> Conformance::check(const Value& v, const TypeSpec& t) {
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
        case K::Union:
            for (const auto& p : t.params) {
                RTFS_TRY(bool ok, check(v, *p));
                if (ok) return true;
            }
            return false;
        case K::Enum:
            for (const auto& x : t.values)
                if (equals(x, v)) return true;
            if (auto stopped = take_walk_interruption()) return unexpected(std::move(*stopped));
            return false;
        case K::Optional:
            if (v.is_nil()) return true;
            return check(v, *t.params[0]);
        case K::Vector:
            if (!v.is(Type::Vector)) return false;
            return check_collection(v, t);
        case K::List:
            if (!v.is(Type::List)) return false;
            return check_collection(v, t);
        case K::Tuple:
            if (!v.is_seq()) return false;
            return check_collection(v, t);
        case K::Map:
        case K::MapOf:
            if (!v.is(Type::Map)) return false;
            return check_collection(v, t);
    }
    return false;
}

Result<bool> Conformance::check_collection(const Value& v, const TypeSpec& t) {
    using K = TypeSpec::Kind;
    const std::pair<const void*, const TypeSpec*> pair{v.object_ptr(), &t};
    const bool shared = !v.unique();
    if (shared && passed_.count(pair)) return true;
    RTFS_CHECK(poll_walk(1));
    bool ok = true;
    if (t.kind == K::Map) {
        for (const auto& f : t.fields) {
            const Value* x = v.map().find(f.key);
            if (!x) {
                if (!f.optional) return false;
                continue;
            }
            RTFS_TRY(ok, check(*x, *f.type));
            if (!ok) return false;
        }
    } else if (t.kind == K::MapOf) {
        RTFS_CHECK(poll_limits(v.map().size()));
        for (const auto& [k, x] : v.map().entries()) {
            RTFS_TRY(ok, check(k, *t.params[0]));
            if (!ok) return false;
            RTFS_TRY(ok, check(x, *t.params[1]));
            if (!ok) return false;
        }
    } else {
        RTFS_TRY(ok, items(v.items(), t));
        if (!ok) return false;
    }
    if (shared && passed_.size() < kMemoPairs && passed_.insert(pair).second) memo_bytes_.add(kHashNodeBytes);
    return true;
}

// The elements of a sequence against a [:vector T] / [:list T] / [:tuple ...] type.
Result<bool> Conformance::items(std::span<const Value> xs, const TypeSpec& t) {
    if (t.kind == TypeSpec::Kind::Tuple) {
        if (xs.size() != t.params.size()) return false;
        for (size_t i = 0; i < t.params.size(); ++i) {
            RTFS_TRY(bool ok, check(xs[i], *t.params[i]));
            if (!ok) return false;
        }
        return true;
    }
    if (t.params.empty()) return true;
    RTFS_CHECK(poll_limits(xs.size()));
    for (const auto& x : xs) {
        RTFS_TRY(bool ok, check(x, *t.params[0]));
        if (!ok) return false;
    }
    return true;
}

}  // namespace

Result<bool> conforms(const Value& v, const TypeSpec& t) {
    Conformance c;
    return c.check(v, t);
}

Result<bool> conforms_binding(const Value& v, const TypeSpec& t, bool rest) {
    if (!rest) return conforms(v, t);
    // The annotation of a rest binding is about the extra arguments (types.hpp).
    static const std::vector<Value> kNone;
    if (!v.is_nil() && !v.is_seq()) return false;  // (recur ...) may hand anything over
    const auto& xs = v.is_nil() ? kNone : v.items();
    Conformance c;
    if (is_sequence_type(t)) return c.items(xs, t);
    RTFS_CHECK(poll_limits(xs.size()));
    for (const auto& x : xs) {
        RTFS_TRY(bool ok, c.check(x, t));
        if (!ok) return false;
    }
    return true;
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
