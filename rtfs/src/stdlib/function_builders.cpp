// Functions that return functions: comp partial constantly juxt some-fn every-pred fnil.
//
// The value model has two kinds of callable: closures (analysed RTFS code) and static builtins.
// A returned function therefore is a closure. Each builder has a maker, `(fn [data...] (fn
// <name> [& args] body))`, analysed once per interpreter and kept in its state: a call of the
// builder applies the maker to the functions and arguments given, which the returned closure
// captures. Its code is the same whatever their number, so (apply juxt (repeat 8000000 inc))
// builds one vector of them (charged to the heap), never an 8,000,000-form program that no limit
// saw (it aborted the process), and every closure a builder returns shares the one analysed body
// (a new body per call made 100,000 kept juxts go over the analysed-forms budget; red team,
// 2026-12-07). Builtins used inside are embedded as (quote <builtin>) constants, so user
// definitions with the same names cannot change what the returned function does. They print as
// #<function comp> and so on.
#include <algorithm>

#include "eval/state.hpp"
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

// (fn [params...] (fn <name> [& args] body)): the maker of a builder, analysed on first use;
// its forms are built then only (body() makes the body).
template <class Body>
Result<Value> maker(Interpreter& interp, const char* name, std::initializer_list<const char*> params, Body body) {
    auto& makers = interp.state().function_makers;
    if (auto it = makers.find(name); it != makers.end()) return it->second;
    std::vector<Value> param_symbols;
    for (const char* p : params) param_symbols.push_back(sym(p));
    Value inner = make_list({sym("fn"), sym(name), make_vector({sym("&"), sym("args")}), body()});
    RTFS_TRY(Value made, interp.eval_form(make_list({sym("fn"), make_vector(std::move(param_symbols)), std::move(inner)})));
    makers.emplace(name, made);
    return made;
}

// The builder's closure over `data`: the maker applied to it.
Result<Value> closure(Interpreter& interp, const Value& made, std::vector<Value> data) {
    return interp.apply(made, std::span<Value>(data));
}

// The given values as one vector (`from` on), charged to the heap first: they may be millions.
Result<Value> vector_of(std::span<Value> a, size_t from = 0) {
    RTFS_CHECK(charge_alloc(static_cast<int64_t>((a.size() - from) * sizeof(Value))));
    return make_vector(std::vector<Value>(std::make_move_iterator(a.begin() + static_cast<std::ptrdiff_t>(from)),
                                          std::make_move_iterator(a.end())));
}

// (comp f g h) = (fn [& args] (f (g (apply h args)))); (comp) is identity, (comp f) is f.
// The maker takes the functions last first: (reduce (fn [acc f] (f acc)) (apply h args) [g f]).
Result<Value> comp(Interpreter& interp, std::span<Value> a) {
    if (a.empty()) return Value::builtin(find_builtin("identity"));
    if (a.size() == 1) return std::move(a[0]);
    std::reverse(a.begin(), a.end());
    RTFS_TRY(Value fs, vector_of(a));
    RTFS_TRY(Value made,
             maker(interp, "comp", {"fs"}, [] {
                 return call_form(
                     {builtin_ref("reduce"),
                      make_list({sym("fn"), make_vector({sym("acc"), sym("f")}), call_form({sym("f"), sym("acc")})}),
                      call_form({builtin_ref("apply"), call_form({builtin_ref("first"), sym("fs")}), sym("args")}),
                      call_form({builtin_ref("rest"), sym("fs")})});
             }));
    return closure(interp, made, {std::move(fs)});
}

// (partial f a b) = (fn [& args] (apply f (into [a b] args)))
Result<Value> partial(Interpreter& interp, std::span<Value> a) {
    if (a.size() == 1) return std::move(a[0]);
    RTFS_TRY(Value bound, vector_of(a, 1));
    RTFS_TRY(Value made, maker(interp, "partial", {"f", "bound"}, [] {
                 return call_form({builtin_ref("apply"), sym("f"), call_form({builtin_ref("into"), sym("bound"), sym("args")})});
             }));
    return closure(interp, made, {std::move(a[0]), std::move(bound)});
}

// (constantly x) = (fn [& args] x)
Result<Value> constantly(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(Value made, maker(interp, "constantly", {"x"}, [] { return sym("x"); }));
    return closure(interp, made, {std::move(a[0])});
}

// (juxt f g) = (fn [& args] [(apply f args) (apply g args)])
Result<Value> juxt(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(Value fs, vector_of(a));
    RTFS_TRY(Value made,
             maker(interp, "juxt", {"fs"}, [] {
                 return call_form({builtin_ref("mapv"),
                                   make_list({sym("fn"), make_vector({sym("f")}),
                                              call_form({builtin_ref("apply"), sym("f"), sym("args")})}),
                                   sym("fs")});
             }));
    return closure(interp, made, {std::move(fs)});
}

// (fn [x] (<some|every?> (fn [p] (p x)) ps)) for some-fn / every-pred.
Value each_predicate(const char* connective) {
    return make_list({sym("fn"), make_vector({sym("x")}),
                      call_form({builtin_ref(connective),
                                 make_list({sym("fn"), make_vector({sym("p")}), call_form({sym("p"), sym("x")})}),
                                 sym("ps")})});
}

// (some-fn p q) = (fn [& args] (some (fn [x] (or (p x) (q x))) args)): the first truthy result.
Result<Value> some_fn(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(Value ps, vector_of(a));
    RTFS_TRY(Value made, maker(interp, "some-fn", {"ps"}, [] {
                 return call_form({builtin_ref("some"), each_predicate("some"), sym("args")});
             }));
    return closure(interp, made, {std::move(ps)});
}

// (every-pred p q) = (fn [& args] (every? (fn [x] (and (p x) (q x))) args)): true or false.
Result<Value> every_pred(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(Value ps, vector_of(a));
    RTFS_TRY(Value made, maker(interp, "every-pred", {"ps"}, [] {
                 return call_form({builtin_ref("every?"), each_predicate("every?"), sym("args")});
             }));
    return closure(interp, made, {std::move(ps)});
}

// (fnil f x [y [z]]): f with nil arguments in the first positions replaced by x, y, z:
// (fn [& args] (apply f (map-indexed (fn [i v] (if (nil? v) (get defaults i) v)) args)))
Result<Value> fnil(Interpreter& interp, std::span<Value> a) {
    RTFS_TRY(Value defaults, vector_of(a, 1));
    RTFS_TRY(Value made, maker(interp, "fnil", {"f", "defaults"}, [] {
                 Value replace_nil = make_list(
                     {sym("fn"), make_vector({sym("i"), sym("v")}),
                      call_form({sym("if"), call_form({builtin_ref("nil?"), sym("v")}),
                                 call_form({builtin_ref("get"), sym("defaults"), sym("i")}), sym("v")})});
                 return call_form({builtin_ref("apply"), sym("f"),
                                   call_form({builtin_ref("map-indexed"), std::move(replace_nil), sym("args")})});
             }));
    return closure(interp, made, {std::move(a[0]), std::move(defaults)});
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
