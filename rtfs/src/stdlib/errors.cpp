// Raising and inspecting error values.
#include "rtfs/printer.hpp"
#include "stdlib/stdlib.hpp"

namespace rtfs::stdlib {
namespace {

// (throw x): an error value is re-raised as is; a map's :message (or "message") becomes the
// message and the map the payload; anything else is printed into the message.
Result<Value> throw_(Interpreter&, std::span<Value> a) {
    const Value& v = a[0];
    if (v.is(Type::Error)) return unexpected(Error(v));
    if (v.is(Type::Map)) {
        const Value* m = v.map().find(make_keyword("message"));
        if (!m) m = v.map().find(make_string("message"));
        std::string msg = m ? to_display(*m) : print(v);
        return unexpected(Error(ErrorKind::UserError, msg, v));
    }
    return unexpected(Error(ErrorKind::UserError, to_display(v), v));
}

// (error "msg") or (error "msg" data)
Result<Value> error_(Interpreter&, std::span<Value> a) {
    return unexpected(Error(ErrorKind::UserError, to_display(a[0]), a.size() > 1 ? a[1] : a[0]));
}

Result<Value> error_p(Interpreter&, std::span<Value> a) { return Value::boolean(a[0].is(Type::Error)); }

Result<Value> message(Interpreter&, std::span<Value> a) {
    if (!a[0].is(Type::Error)) return type_error("error-message", "error", a[0]);
    return make_string(a[0].err().message);
}

Result<Value> error_type(Interpreter&, std::span<Value> a) {
    if (!a[0].is(Type::Error)) return type_error("error-type", "error", a[0]);
    return make_keyword(to_string(a[0].err().kind));
}

Result<Value> error_data(Interpreter&, std::span<Value> a) {
    if (!a[0].is(Type::Error)) return type_error("error-data", "error", a[0]);
    return a[0].err().data;
}

}  // namespace

void add_errors(std::vector<BuiltinDef>& t) {
    t.insert(t.end(), {
        {"throw", 1, 1, throw_},
        {"error", 1, 2, error_},
        {"error?", 1, 1, error_p},
        {"getMessage", 1, 1, message},
        {"error-message", 1, 1, message},
        {"error-type", 1, 1, error_type},
        {"error-data", 1, 1, error_data},
    });
}

}  // namespace rtfs::stdlib
