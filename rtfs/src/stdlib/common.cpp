#include "stdlib/stdlib.hpp"
#include "stdlib/utf8.hpp"

namespace rtfs::stdlib {

Unexpected<Error> type_error(const char* op, const char* expected, const Value& got) {
    return unexpected(Error(ErrorKind::TypeError, std::string("Type error in ") + op +
                                                      ": expected " + expected + ", got " +
                                                      type_name(got)));
}

Unexpected<Error> invalid_argument(const char* op, const std::string& why) {
    return unexpected(
        Error(ErrorKind::InvalidArgument, std::string("Invalid argument to ") + op + ": " + why));
}

Result<int64_t> int_arg(const char* op, const Value& v) {
    if (!v.is(Type::Int)) return type_error(op, "integer", v);
    return v.as_int();
}

Result<double> number_arg(const char* op, const Value& v) {
    if (!v.is_number()) return type_error(op, "number", v);
    return v.to_double();
}

Result<const std::string*> string_arg(const char* op, const Value& v) {
    if (!v.is(Type::String)) return type_error(op, "string", v);
    return &v.str();
}

// What materialising n elements costs the RTFS heap: one slot each in the result, plus the
// object each one becomes (a one-character string, or a [k v] vector for a map entry).
static int64_t materialised_bytes(size_t n, size_t object_bytes) {
    return static_cast<int64_t>(n) * static_cast<int64_t>(sizeof(Value) + object_bytes);
}

std::vector<Value> characters(const std::string& s, size_t at_most) {
    std::vector<Value> out;
    if (at_most != SIZE_MAX) out.reserve(at_most);
    for (size_t i = 0; i < s.size() && out.size() < at_most;) {
        const size_t len = utf8::decode(s, i).len;  // one character per element
        out.push_back(make_string(s.substr(i, len)));
        i += len;
    }
    return out;
}

Result<std::vector<Value>> items_of(const char* op, const Value& v) {
    switch (v.type()) {
        case Type::Nil: return std::vector<Value>{};
        case Type::List:
        case Type::Vector:
        case Type::Set: return std::vector<Value>(v.items().begin(), v.items().end());
        case Type::Map: {
            // Each entry becomes a new vector: charged before building, not discovered after.
            RTFS_CHECK(charge_alloc(
                materialised_bytes(v.map().size(), sizeof(SeqObj) + 2 * sizeof(Value))));
            std::vector<Value> out;
            out.reserve(v.map().size());
            for (const auto& [k, x] : v.map().entries()) out.push_back(make_vector({k, x}));
            return out;
        }
        case Type::String: {
            // A string of n bytes becomes up to n string objects: charged to the heap before one
            // is made, so a 16 MiB string cannot turn into a GiB of them under a 64 MiB limit.
            const std::string& s = v.str();
            const size_t n = utf8::length(s);
            RTFS_CHECK(charge_alloc(materialised_bytes(n, sizeof(StrObj))));
            return characters(s, n);
        }
        default: return type_error(op, "collection", v);
    }
}

Expected<void, Error> check_alloc(Interpreter& interp, size_t n_values) {
    const uint64_t need = static_cast<uint64_t>(n_values) * sizeof(Value);
    if (need > alloc_room())  // the memory limit's room, and never past 1 GiB without one
        return unexpected(Error(ErrorKind::ResourceLimit,
                                "Memory limit exceeded: a collection of " +
                                    std::to_string(n_values) + " elements does not fit"));
    return interp.check_limits();
}

}  // namespace rtfs::stdlib
