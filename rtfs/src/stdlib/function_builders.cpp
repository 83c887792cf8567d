// Functions that return functions: comp partial constantly juxt some-fn every-pred fnil.
//
// The value model has two kinds of callable: closures (analysed RTFS code) and static builtins.
// A returned function therefore is a closure, made by evaluating a small `fn` form whose free
// values (the functions and arguments given) are embedded as (quote <value>) constants. Builtins
// used inside are embedded the same way, so user definitions with the same names cannot
// change what the returned function does. They print as #<function comp> and so on.
#include "stdlib/coll_helpers.hpp"

namespace rtfs::stdlib {
namespace {

Value sym(const char* name) {
    return make_symbol(name);
}
Value quoted(Value v) {
    return make_list({sym("quote"), std::move(v)});
}
Value builtin_ref(const char* name) {
    return quoted(Value::builtin(find_builtin(name)));
}
Value call_form(std::vector<Value> items) {
    return make_list(std::move(items));
}

// (fn <name> [& args] <body>) evaluated into a closure; body may use the symbol `args`.
Result<Value> variadic_closure(Interpreter& interp, const char* name, Value body) {
    Value params = make_vector({sym("&"), sym("args")});
    return interp.eval_form(make_list({sym("fn"), sym(name), std::move(params), std::move(body)}));
}

// (fn [x] (<and|or> (p1 x) (p2 x) ...)) for some-fn / every-pred.
Value combined_predicate(const char* connective, std::span<Value> preds) {
    std::vector<Value> body{sym(connective)};
    for (Value& p : preds) body.push_back(call_form({quoted(std::move(p)), sym("x")}));
    return make_list({sym("fn"), make_vector({sym("x")}), make_list(std::move(body))});
}

// (comp f g h) = (fn [& args] (f (g (apply h args)))); (comp) is identity, (comp f) is f.
Result<Value> comp(Interpreter& interp, std::span<Value> a) {
    if (a.empty()) return Value::builtin(find_builtin("identity"));
    if (a.size() == 1) return std::move(a[0]);
    Value body = call_form({builtin_ref("apply"), quoted(std::move(a.back())), sym("args")});
    for (size_t i = a.size() - 1; i-- > 0;)
        body = call_form({quoted(std::move(a[i])), std::move(body)});
    return variadic_closure(interp, "comp", std::move(body));
}

// (partial f a b) = (fn [& args] (apply f a b args))
Result<Value> partial(Interpreter& interp, std::span<Value> a) {
    if (a.size() == 1) return std::move(a[0]);
    std::vector<Value> body{builtin_ref("apply")};
    for (Value& v : a) body.push_back(quoted(std::move(v)));
    body.push_back(sym("args"));
    return variadic_closure(interp, "partial", call_form(std::move(body)));
}

// (constantly x) = (fn [& args] x)
Result<Value> constantly(Interpreter& interp, std::span<Value> a) {
    return variadic_closure(interp, "constantly", quoted(std::move(a[0])));
}

// (juxt f g) = (fn [& args] [(apply f args) (apply g args)])
Result<Value> juxt(Interpreter& interp, std::span<Value> a) {
    std::vector<Value> body{builtin_ref("vector")};
    for (Value& f : a)
        body.push_back(call_form({builtin_ref("apply"), quoted(std::move(f)), sym("args")}));
    return variadic_closure(interp, "juxt", call_form(std::move(body)));
}

// (some-fn p q) = (fn [& args] (some (fn [x] (or (p x) (q x))) args)): the first truthy result.
Result<Value> some_fn(Interpreter& interp, std::span<Value> a) {
    Value body = call_form({builtin_ref("some"), combined_predicate("or", a), sym("args")});
    return variadic_closure(interp, "some-fn", std::move(body));
}

// (every-pred p q) = (fn [& args] (every? (fn [x] (and (p x) (q x))) args)): true or false.
Result<Value> every_pred(Interpreter& interp, std::span<Value> a) {
    Value body = call_form({builtin_ref("every?"), combined_predicate("and", a), sym("args")});
    return variadic_closure(interp, "every-pred", std::move(body));
}

// (fnil f x [y [z]]): f with nil arguments in the first positions replaced by x, y, z:
// (fn [& args] (apply f (map-indexed (fn [i v] (if (nil? v) (get defaults i) v)) args)))
Result<Value> fnil(Interpreter& interp, std::span<Value> a) {
    Value defaults = make_vector(std::vector<Value>(std::make_move_iterator(a.begin() + 1),
                                                    std::make_move_iterator(a.end())));
    Value replace_nil = make_list(
        {sym("fn"), make_vector({sym("i"), sym("v")}),
         call_form({sym("if"), call_form({builtin_ref("nil?"), sym("v")}),
                    call_form({builtin_ref("get"), quoted(std::move(defaults)), sym("i")}),
                    sym("v")})});
    Value body =
        call_form({builtin_ref("apply"), quoted(std::move(a[0])),
                   call_form({builtin_ref("map-indexed"), std::move(replace_nil), sym("args")})});
    return variadic_closure(interp, "fnil", std::move(body));
}

}  // namespace

void add_function_builders(std::vector<BuiltinDef>& t) {
    t.insert(t.end(), {
                          {"comp", 0, kVariadic, comp},
                          {"partial", 1, kVariadic, partial},
                          {"constantly", 1, 1, constantly},
                          {"juxt", 1, kVariadic, juxt},
                          {"some-fn", 1, kVariadic, some_fn},
                          {"every-pred", 1, kVariadic, every_pred},
                          {"fnil", 2, 4, fnil},
                      });
}

}  // namespace rtfs::stdlib
