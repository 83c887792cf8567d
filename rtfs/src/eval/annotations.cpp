#include "eval/annotations.hpp"

#include <string>

namespace rtfs {

namespace {

Unexpected<Error> syntax_error(std::string msg) {
    return unexpected(Error(ErrorKind::ReadError, std::move(msg)));
}

bool is_colon(const Value& v) { return v.is(Type::Symbol) && v.str() == ":"; }

}  // namespace

Result<size_t> read_annotation(std::span<const Value> xs, size_t i, bool allow_vector,
                               std::unique_ptr<TypeSpec>* out) {
    if (i >= xs.size()) return size_t{0};
    const Value& x = xs[i];
    if (is_colon(x)) {
        if (i + 1 >= xs.size()) return syntax_error("':' must be followed by a type");
        RTFS_TRY(*out, parse_type(xs[i + 1]));
        return size_t{2};
    }
    const bool type_keyword = x.is(Type::Keyword) && looks_like_type(x);
    const bool type_vector = allow_vector && x.is(Type::Vector) && !x.items().empty() &&
                             x.items()[0].is(Type::Keyword);
    if (!type_keyword && !type_vector) return size_t{0};
    RTFS_TRY(*out, parse_type(x));
    return size_t{1};
}

Result<size_t> read_annotated_name(std::span<const Value> xs, size_t i, Value* name,
                                   std::unique_ptr<TypeSpec>* type) {
    const Value& x = xs[i];
    *name = x;
    if (!x.is(Type::Symbol)) return size_t{1};
    const std::string& s = x.str();
    const size_t colon = s.find(':');
    // A symbol never starts with ':' except `:` itself (the separate form's marker).
    if (colon == std::string::npos || colon == 0) return size_t{1};
    if (s.compare(0, colon, "&") == 0) return syntax_error("misplaced & in " + s);
    *name = make_symbol(s.substr(0, colon));
    if (colon + 1 < s.size()) {
        RTFS_TRY(*type, parse_type(make_symbol(s.substr(colon + 1))));
        return size_t{1};
    }
    if (i + 1 >= xs.size()) return syntax_error("'" + s + "' must be followed by a type");
    RTFS_TRY(*type, parse_type(xs[i + 1]));
    return size_t{2};
}

Result<size_t> read_binding(std::span<const Value> xs, size_t i, bool allow_vector, size_t then,
                            Value* name, std::unique_ptr<TypeSpec>* type) {
    RTFS_TRY(size_t used, read_annotated_name(xs, i, name, type));
    if (*type) return used;
    const size_t j = i + used;
    if (j + then >= xs.size()) return used;  // no room for an annotation and what must follow
    RTFS_TRY(size_t more, read_annotation(xs, j, allow_vector, type));
    if (more > 0 && j + more + then > xs.size()) {
        type->reset();
        return used;
    }
    return used + more;
}

}  // namespace rtfs
