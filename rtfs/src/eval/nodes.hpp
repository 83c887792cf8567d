// The analysed program: a tree of nodes whose symbols are already resolved to frame slots,
// closure captures or global cells. Each node evaluates itself against the interpreter state.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "eval/patterns.hpp"
#include "eval/state.hpp"
#include "eval/types.hpp"
#include "rtfs/reader.hpp"

namespace rtfs {

struct Node {
    SourcePos pos;
    virtual ~Node() = default;
    virtual Result<Value> eval(Interpreter::State& st) const = 0;
};
using NodeP = std::unique_ptr<Node>;

struct ConstNode final : Node {
    Value value;
    Result<Value> eval(Interpreter::State&) const override { return value; }
};

struct LocalNode final : Node {
    uint32_t slot = 0;
    // Set by the analyser where this is provably the slot's last read before the frame dies or
    // the slot is rebound by recur: the value is moved out, so a collection passed on
    // (e.g. (fn [m x] (assoc m x x))) stays uniquely owned and can be updated in place.
    bool move_out = false;
    Result<Value> eval(Interpreter::State& st) const override {
        if (move_out) return std::move(st.local(slot));
        return st.local(slot);
    }
};

struct CaptureNode final : Node {
    uint32_t index = 0;
    Result<Value> eval(Interpreter::State& st) const override { return st.self->captures[index]; }
};

// The closure currently running, for self-recursion without a reference cycle.
struct SelfNode final : Node {
    Result<Value> eval(Interpreter::State& st) const override;
};

struct GlobalNode final : Node {
    GlobalCell* cell = nullptr;
    const BuiltinDef* builtin = nullptr;  // the builtin of that name, used while cell is undefined
    Result<Value> eval(Interpreter::State& st) const override;
};

struct IfNode final : Node {
    NodeP cond, then, otherwise;  // otherwise may be null
    Result<Value> eval(Interpreter::State& st) const override;
};

struct DoNode final : Node {
    std::vector<NodeP> body;
    Result<Value> eval(Interpreter::State& st) const override;
};

// A binding target: the value goes to raw_slot, then (optionally) is destructured.
struct Target {
    uint32_t raw_slot = 0;
    std::unique_ptr<Pattern> pattern;  // null for a plain symbol
    std::unique_ptr<TypeSpec> type;    // annotation, checked on bind
    bool rest = false;                 // a fn's rest parameter: type is about each extra argument
    std::string name;                  // for messages
    SourcePos pos;                     // where a let, loop or for binding is written (else none)
};

Expected<void, Error> bind_target(const Target& t, Value v, Interpreter::State& st);

// After a let's bindings ran, closures that captured a later (or same-let) binding get the
// bound value patched in: this is what makes mutually recursive local functions work.
// A let's function capturing another of its functions, bound after it may be: the capture is
// filled once both are bound, right after the binding `ready_after` (so an init after both can
// call either; filled after every init, (let [a (fn [] (b)) b (fn [] 2) c (a)] c) called nil).
struct Fixup {
    uint32_t closure_slot;
    uint32_t capture_index;
    uint32_t target_slot;
    uint32_t ready_after;  // the index of the later of the two bindings
};

struct LetNode final : Node {
    std::vector<Target> targets;
    std::vector<NodeP> inits;
    std::vector<Fixup> fixups;
    NodeP body;
    Result<Value> eval(Interpreter::State& st) const override;
};

struct CaptureSource {
    enum class From { Local, Capture, Self } from;
    uint32_t index;
};

struct FnNode final : Node {
    std::string name;
    std::vector<Target> params;  // positional params live in slots 0..n-1
    bool variadic = false;       // the last entry of params is the rest parameter
    uint32_t nslots = 0;
    std::vector<CaptureSource> captures;
    std::unique_ptr<TypeSpec> return_type;
    NodeP body;
    // The analysed unit that owns this node. Weak: the unit owns the node, so a strong pointer
    // back would be a cycle; closures created from the node hold the unit strongly.
    std::weak_ptr<const void> owner;
    uint32_t required() const { return static_cast<uint32_t>(params.size()) - (variadic ? 1 : 0); }
    Result<Value> eval(Interpreter::State& st) const override;
};

struct CallNode final : Node {
    NodeP fn;
    std::vector<NodeP> args;
    Result<Value> eval(Interpreter::State& st) const override;
};

struct DefNode final : Node {
    GlobalCell* cell = nullptr;  // top level
    std::unique_ptr<Target> local;  // inside a body: binds a local slot instead
    std::unique_ptr<TypeSpec> type;
    NodeP init;
    Result<Value> eval(Interpreter::State& st) const override;
};

struct LoopNode final : Node {
    std::vector<Target> targets;
    std::vector<NodeP> inits;
    NodeP body;
    Result<Value> eval(Interpreter::State& st) const override;
};

struct RecurNode final : Node {
    const std::vector<Target>* targets = nullptr;  // of the enclosing loop or fn
    std::vector<NodeP> args;
    Result<Value> eval(Interpreter::State& st) const override;
};

struct CatchClause {
    bool any = true;
    ErrorKind kind = ErrorKind::UserError;  // when !any
    uint32_t slot = 0;
    NodeP body;
};

struct TryNode final : Node {
    NodeP body;
    std::vector<CatchClause> catches;
    NodeP finally;  // may be null
    Result<Value> eval(Interpreter::State& st) const override;
};

struct MatchClause {
    Pattern pattern;
    NodeP guard;  // may be null
    NodeP body;
};

struct MatchNode final : Node {
    NodeP subject;
    std::vector<MatchClause> clauses;
    Result<Value> eval(Interpreter::State& st) const override;
};

// (for [x xs :let [y ..] :when c ...] body): nested iteration collecting into a vector.
struct ForClause {
    enum class Kind { Each, Let, When, While } kind = Kind::Each;
    Target target;                  // Each
    NodeP expr;                     // collection / condition
    std::unique_ptr<LetNode> let;   // Let: bindings only (body unused)
};

struct ForNode final : Node {
    std::vector<ForClause> clauses;
    NodeP body;
    bool collect = true;  // false for doseq: the body runs for its effects, the result is nil
    Result<Value> eval(Interpreter::State& st) const override;
};

struct DotimesNode final : Node {
    uint32_t slot = 0;
    NodeP count;
    NodeP body;
    Result<Value> eval(Interpreter::State& st) const override;
};

struct AndNode final : Node {
    bool is_or = false;
    std::vector<NodeP> exprs;
    Result<Value> eval(Interpreter::State& st) const override;
};

struct CapabilityNode final : Node {
    NodeP id;
    std::vector<NodeP> args;
    Result<Value> eval(Interpreter::State& st) const override;
};

struct CollectionNode final : Node {
    Type type = Type::Vector;  // Vector, Map (items are k, v, k, v...), Set
    std::vector<NodeP> items;
    Result<Value> eval(Interpreter::State& st) const override;
};

struct DerefNode final : Node {
    std::string name;
    Result<Value> eval(Interpreter::State& st) const override;
};

// `(quasiquote form)`: a template with ~x and ~@xs holes.
struct QuasiNode final : Node {
    enum class Kind { Const, Unquote, Splice, List, Vector, Map } kind = Kind::Const;
    Value constant;
    NodeP expr;                                  // Unquote / Splice
    std::vector<std::unique_ptr<QuasiNode>> parts;  // List / Vector / Map
    Result<Value> eval(Interpreter::State& st) const override;
};

}  // namespace rtfs
