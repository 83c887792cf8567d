// Evaluation of analysed nodes, and the calling convention.
//
// Calling convention: the caller pushes the arguments on the value stack; a closure's frame
// starts at its first argument (parameters are slots 0..n-1) and is extended to the function's
// slot count. Everything pushed is popped on every path, errors included.
#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "eval/nodes.hpp"
#include "stdlib/coll_helpers.hpp"
#include "stdlib/stdlib.hpp"
#include "rtfs/printer.hpp"

namespace rtfs {

// ---- limits ---------------------------------------------------------------------------------

Expected<void, Error> Interpreter::State::slow_check() {
    if (auto stopped = take_walk_interruption()) return unexpected(std::move(*stopped));
    if (opts.cancel && opts.cancel->load(std::memory_order_relaxed))
        return unexpected(Error(ErrorKind::Interrupted, "Evaluation interrupted"));
    if (opts.deadline && std::chrono::steady_clock::now() >= *opts.deadline)
        return unexpected(Error(ErrorKind::Interrupted, "Evaluation interrupted: time limit reached"));
    if (opts.max_steps > 0 && steps > opts.max_steps)
        return unexpected(Error(ErrorKind::Interrupted,
                                "Evaluation interrupted: step budget of " +
                                    std::to_string(opts.max_steps) + " exhausted"));
    return Ok{};
}

Expected<void, Error> Interpreter::State::memory_exceeded() const {
    return unexpected(Error(ErrorKind::ResourceLimit,
                            "Memory limit exceeded: the program holds more than " +
                                std::to_string(opts.memory_limit_bytes / (1024 * 1024)) +
                                " MiB of RTFS data"));
}

Expected<void, Error> Interpreter::State::reserve(size_t n) const {
    if (stack.size() + n > stack.capacity())
        return unexpected(Error(ErrorKind::RecursionLimit,
                                "Recursion limit: the value stack of " +
                                    std::to_string(stack.capacity()) + " slots is exhausted"));
    return Ok{};
}

// Error constructors live out of line so that the hot call path keeps small stack frames
// (deep recursion depends on it).
[[gnu::noinline, gnu::cold]] static Unexpected<Error> recursion_limit(const char* why) {
    return unexpected(Error(ErrorKind::RecursionLimit, std::string("Recursion limit: ") + why));
}

[[gnu::noinline, gnu::cold]] static Unexpected<Error> depth_error(uint32_t max_depth) {
    return unexpected(Error(ErrorKind::RecursionLimit, "Recursion limit: more than " +
                                                           std::to_string(max_depth) +
                                                           " nested calls"));
}

[[gnu::noinline, gnu::cold]] static Unexpected<Error> builtin_arity_error(const BuiltinDef& b,
                                                                          size_t n) {
    std::string expected = b.max_args == kVariadic  ? "at least " + std::to_string(b.min_args)
                           : b.min_args == b.max_args ? std::to_string(b.min_args)
                                                      : std::to_string(b.min_args) + " to " +
                                                            std::to_string(b.max_args);
    return unexpected(Error(ErrorKind::ArityMismatch, std::string("Arity mismatch in ") + b.name +
                                                          ": expected " + expected + ", got " +
                                                          std::to_string(n)));
}

static std::string fn_name(const FnNode& code) {
    return code.name.empty() ? std::string("fn") : code.name;
}

[[gnu::noinline, gnu::cold]] static Unexpected<Error> closure_arity_error(const FnNode& code,
                                                                          size_t n) {
    const uint32_t required = code.required();
    std::string expected =
        code.variadic ? "at least " + std::to_string(required) : std::to_string(required);
    return unexpected(Error(ErrorKind::ArityMismatch, "Arity mismatch in " + fn_name(code) +
                                                          ": expected " + expected + ", got " +
                                                          std::to_string(n)));
}

[[gnu::noinline, gnu::cold]] static Unexpected<Error> return_type_error(const FnNode& code,
                                                                        const Value& r) {
    return unexpected(Error(ErrorKind::TypeValidationError,
                            "Type validation failed for the return value of " + fn_name(code) +
                                ": expected " + describe(*code.return_type) + ", got " +
                                type_name(r) + " " + print(r)));
}

// ---- calls ----------------------------------------------------------------------------------

namespace {

// Restores the frame registers and pops the stack back to `top` on every exit path.
struct FrameGuard {
    Interpreter::State& st;
    size_t top, base;
    const FnObj* self;
    FrameGuard(Interpreter::State& s, size_t t) : st(s), top(t), base(s.base), self(s.self) {
        ++st.depth;
    }
    ~FrameGuard() {
        st.base = base;
        st.self = self;
        st.stack.resize(top);
        --st.depth;
    }
};

// As get (the stdlib's lookup, one rule for both): a map's value, a vector's element at an
// index, a set's member; else dflt.
Value lookup_value(const Value& coll, const Value& key, Value dflt) {
    Value out;
    return stdlib::lookup(coll, key, &out) ? out : dflt;
}

Result<Value> lookup_in(const Value& coll, std::span<Value> args, const char* what) {
    if (args.empty() || args.size() > 2)
        return error(ErrorKind::ArityMismatch, std::string("Arity mismatch in ") + what +
                                                   " lookup: expected 1 or 2, got " +
                                                   std::to_string(args.size()));
    return lookup_value(coll, args[0], args.size() == 2 ? args[1] : Value());
}

}  // namespace

Result<Value> Interpreter::State::invoke(const Value& f, size_t top, size_t n) {
    // Pops the arguments (stack[top..]) when the call is over, whatever its outcome.
    struct PopTo {
        std::vector<Value>& s;
        size_t top;
        ~PopTo() { s.resize(top); }
    };
    switch (f.type()) {
        case Type::Function: return call_closure(f.fn(), top, n);
        case Type::Builtin: {
            const BuiltinDef* b = f.as_builtin();
            PopTo pop{stack, top};
            const int argc = static_cast<int>(n);
            if (argc < b->min_args || (b->max_args != kVariadic && argc > b->max_args))
                return builtin_arity_error(*b, n);
            // A walk stopped by the limits (equality, hashing) answered without looking: its
            // error ends the evaluation before a builtin acts on that answer, or returns one.
            if (auto stopped = take_walk_interruption()) return unexpected(std::move(*stopped));
            auto result = b->fn(*owner, std::span<Value>(stack.data() + top, n));
            if (auto stopped = take_walk_interruption()) return unexpected(std::move(*stopped));
            // What a builtin built is judged when it returns: the limit was compared only at
            // closure calls and loop steps, and straight-line code (160 let bindings of
            // (reverse r)) took 7 GB under a 64 MiB limit and aborted the host (red team,
            // 2026-12-06). A builtin's own loops poll (poll_limits) or charge before they build.
            if (opts.memory_limit_bytes > 0 && heap.live_bytes > opts.memory_limit_bytes) return unexpected(memory_exceeded().error());
            return result;
        }
        case Type::Keyword: {
            PopTo pop{stack, top};
            if (n < 1 || n > 2)
                return error(ErrorKind::ArityMismatch,
                             "Arity mismatch in :" + f.str() + ": expected 1 or 2, got " +
                                 std::to_string(n));
            return lookup_value(stack[top], f, n == 2 ? stack[top + 1] : Value());
        }
        case Type::Map:
        case Type::Vector:
        case Type::Set: {
            PopTo pop{stack, top};
            return lookup_in(f, std::span<Value>(stack.data() + top, n), type_name(f));
        }
        default:
            stack.resize(top);
            return error(ErrorKind::TypeError,
                         std::string("Type error in call: expected function, got ") + type_name(f));
    }
}

Result<Value> Interpreter::State::call_closure(const FnObj& f, size_t top, size_t n) {
    FrameGuard guard(*this, top);
    const FnNode& code = *f.code;
    if (depth > opts.max_depth) return depth_error(opts.max_depth);
    char probe;
    if (&probe < native_stack_floor) return recursion_limit("native stack exhausted");
    RTFS_CHECK(tick());

    const uint32_t required = code.required();
    if (n < required || (!code.variadic && n > required)) return closure_arity_error(code, n);
    if (code.variadic) {
        std::vector<Value> rest;
        if (n > required) {
            rest.reserve(n - required);
            for (size_t i = required; i < n; ++i) rest.push_back(std::move(stack[top + i]));
            stack.resize(top + required);
        }
        stack.push_back(rest.empty() ? Value() : make_list(std::move(rest)));
    }
    RTFS_CHECK(reserve(code.nslots));
    stack.resize(top + code.nslots);
    base = top;
    self = &f;
    for (const Target& t : code.params) {
        if (t.pattern || t.type) {
            Value v = stack[base + t.raw_slot];
            RTFS_CHECK(bind_target(t, std::move(v), *this));
        }
    }
    for (;;) {
        RTFS_TRY(Value r, code.body->eval(*this));
        if (!r.is(Type::Recur)) {
            if (code.return_type) {
                RTFS_TRY(bool ok, conforms(r, *code.return_type));
                if (!ok) return return_type_error(code, r);
            }
            return r;
        }
        RTFS_CHECK(tick());
    }
}

Result<Value> Interpreter::apply(const Value& fn, std::span<Value> args) {
    State& st = *st_;
    RTFS_CHECK(st.reserve(args.size()));
    size_t top = st.stack.size();
    // The arguments are the caller's owned temporaries (the builtin convention): moving them
    // keeps a uniquely held accumulator unique, so the callee may update it in place.
    for (auto& a : args) st.stack.push_back(std::move(a));
    return st.invoke(fn, top, args.size());
}

Expected<void, Error> Interpreter::check_limits() {
    RTFS_CHECK(st_->tick());
    return st_->slow_check();
}

// ---- binding --------------------------------------------------------------------------------

Expected<void, Error> bind_target(const Target& t, Value v, Interpreter::State& st) {
    // Located at the binding when it has a position: a parameter's error is the call's.
    auto at_binding = [&](Error e) {
        e.locate(t.pos.line, t.pos.column);
        return unexpected(std::move(e));
    };
    if (t.type) {
        auto ok = conforms_binding(v, *t.type, t.rest);
        if (!ok) return at_binding(std::move(ok).error());
        if (!*ok) return at_binding(annotation_error(t.name, *t.type, v, t.rest));
    }
    if (t.pattern) {
        if (auto r = destructure(*t.pattern, v, st); !r) return at_binding(std::move(r).error());
    }
    st.local(t.raw_slot) = std::move(v);
    return Ok{};
}

// ---- nodes ----------------------------------------------------------------------------------

static Result<Value> located(Result<Value> r, const Node& n) {
    if (!r) {
        Error e = std::move(r).error();
        e.locate(n.pos.line, n.pos.column);
        return unexpected(std::move(e));
    }
    return r;
}

Result<Value> SelfNode::eval(Interpreter::State& st) const {
    return Value::object(Type::Function, const_cast<FnObj*>(st.self));
}

Result<Value> GlobalNode::eval(Interpreter::State&) const {
    if (!cell->defined) {
        if (builtin) return Value::builtin(builtin);
        Error e(ErrorKind::UndefinedSymbol, "Undefined symbol: " + cell->name);
        e.locate(pos.line, pos.column);
        return unexpected(std::move(e));
    }
    return cell->value;
}

Result<Value> IfNode::eval(Interpreter::State& st) const {
    RTFS_TRY(Value c, cond->eval(st));
    if (c.truthy()) return then->eval(st);
    if (otherwise) return otherwise->eval(st);
    return Value();
}

Result<Value> DoNode::eval(Interpreter::State& st) const {
    for (size_t i = 0; i + 1 < body.size(); ++i) {
        RTFS_TRY(Value ignored, body[i]->eval(st));
        (void)ignored;
    }
    return body.back()->eval(st);
}

namespace {

// Values that may lead to a closure, through which a letrec cycle can pass.
bool may_hold_closure(const Value& v) {
    switch (v.type()) {
        case Type::Function:
        case Type::List:
        case Type::Vector:
        case Type::Set:
        case Type::Map:
        case Type::Error: return true;
        default: return false;
    }
}

// How many values for_each_held calls f on.
size_t held_count(Type t, const Object* o) {
    switch (t) {
        case Type::Function: return static_cast<const FnObj*>(o)->captures.size();
        case Type::List:
        case Type::Vector:
        case Type::Set: {
            const auto* s = static_cast<const SeqObj*>(o);
            if (!s->base.is_nil()) return 1;
            return s->elements().size() + (s->index ? s->index->members.size() : 0);
        }
        case Type::Map: {
            const auto* m = static_cast<const MapObj*>(o);
            return 2 * m->size() + (m->index() ? m->index()->pos.size() : 0);
        }
        case Type::Error: return 1;
        default: return 0;
    }
}

// Calls f on every value a may_hold_closure object holds: a closure's captures, a collection's
// elements (a map's keys too), an error's data. A suffix holds its base, not the base's elements
// (counting those as held by each suffix made a live closure look unreachable, and its captures
// were cleared: red team, 2026-12-06); a set's and a map's hash index hold what they hold, a
// second reference to members and keys (counted from what is in them, which may be less).
template <class F>
void for_each_held(Type t, const Object* o, F&& f) {
    switch (t) {
        case Type::Function:
            for (const Value& c : static_cast<const FnObj*>(o)->captures) f(c);
            return;
        case Type::List:
        case Type::Vector:
        case Type::Set: {
            const auto* s = static_cast<const SeqObj*>(o);
            if (!s->base.is_nil()) {
                f(s->base);
                return;
            }
            for (const Value& c : s->elements()) f(c);
            if (s->index)
                for (const Value& c : s->index->members) f(c);
            return;
        }
        case Type::Map: {
            const auto* m = static_cast<const MapObj*>(o);
            for (const auto& [k, v] : m->entries()) {
                f(k);
                f(v);
            }
            if (m->index())
                for (const auto& [k, at] : m->index()->pos) f(k);
            return;
        }
        case Type::Error: f(static_cast<const ErrObj*>(o)->data); return;
        default: return;
    }
}

}  // namespace

Result<Value> LetNode::eval(Interpreter::State& st) const {
    size_t next_fixup = 0;  // fixups are in the order of their ready_after
    for (size_t i = 0; i < targets.size(); ++i) {
        RTFS_TRY(Value v, inits[i]->eval(st));
        RTFS_CHECK(bind_target(targets[i], std::move(v), st));
        for (; next_fixup < fixups.size() && fixups[next_fixup].ready_after == i; ++next_fixup) {
            const Fixup& f = fixups[next_fixup];
            Value& closure = st.local(f.closure_slot);
            if (!closure.is(Type::Function)) continue;
            const Value& target = st.local(f.target_slot);
            const_cast<FnObj&>(closure.fn()).captures[f.capture_index] = target;
            if (target.is(Type::Function)) st.add_letrec(closure);
        }
    }
    if (!body) return Value();
    return body->eval(st);
}

void Interpreter::State::add_letrec(const Value& closure) {
    letrec_closures.push_back(closure);
    if (letrec_closures.size() >= letrec_collect_at) {
        collect_letrec();
        letrec_collect_at = std::max(kLetrecCollectMin, 2 * letrec_closures.size());
    }
}

// Trial deletion over the graph the kept closures reach (closures, collections, errors): an
// object all of whose references come from the list and from objects of that graph is garbage
// unless a live one reaches it; an object referenced from anywhere else (a frame slot, a
// global, a value the scan did not reach) is live, and so is everything a live one reaches.
// The garbage kept closures have their captures cleared, which breaks their cycles (every
// cycle passes through a kept closure: only a let's fixups make one) and frees them. The scan
// visits a bounded number of values: an object holding more than the budget left is not
// scanned at all (scanned whole, one huge vector filled the map with every element it holds),
// so the references it holds count as from outside: a closure it reaches stays, as before.
void Interpreter::State::collect_letrec() {
    struct Member {
        Type type;
        uint32_t listed = 0;    // entries of letrec_closures
        uint32_t internal = 0;  // references from scanned members
        bool scanned = false;
        bool live = false;
    };
    std::unordered_map<const Object*, Member> members;
    std::vector<const Object*> work;
    auto reach = [&](const Value& v) -> Member& {
        auto [it, fresh] = members.try_emplace(v.object_ptr(), Member{v.type()});
        if (fresh) work.push_back(it->first);
        return it->second;
    };
    for (const Value& v : letrec_closures) ++reach(v).listed;
    size_t budget = 64 * letrec_closures.size() + 65536;  // values visited
    while (!work.empty()) {
        const Object* obj = work.back();
        work.pop_back();
        Member& m = members.at(obj);
        const size_t held = held_count(m.type, obj);
        if (held > budget) continue;
        budget -= held;
        m.scanned = true;
        for_each_held(m.type, obj, [&](const Value& c) {
            if (may_hold_closure(c)) ++reach(c).internal;
        });
    }
    for (auto& [obj, m] : members) {
        if (obj->refs > m.listed + m.internal) {
            m.live = true;
            work.push_back(obj);
        }
    }
    while (!work.empty()) {
        const Object* obj = work.back();
        work.pop_back();
        const Member& m = members.at(obj);
        if (!m.scanned) continue;  // what it holds is counted as referenced from outside
        for_each_held(m.type, obj, [&](const Value& c) {
            if (!may_hold_closure(c)) return;
            auto it = members.find(c.object_ptr());
            if (it != members.end() && !it->second.live) {
                it->second.live = true;
                work.push_back(it->first);
            }
        });
    }
    std::vector<Value> kept, dead;
    for (Value& v : letrec_closures) {
        Member& m = members.at(v.object_ptr());
        if (m.listed == 0) continue;  // a duplicate entry, already placed
        m.listed = 0;
        (m.live ? kept : dead).push_back(std::move(v));
    }
    letrec_closures = std::move(kept);
    for (Value& f : dead)
        for (Value& c : const_cast<FnObj&>(f.fn()).captures) c = Value();
}

FnObj::FnObj(const FnNode* c, std::shared_ptr<const void> o, size_t ncaptures)
    : code(c), owner(std::move(o)) {
    captures.reserve(ncaptures);
    account(static_cast<int64_t>(sizeof(FnObj) + ncaptures * sizeof(Value)));
}

const std::string& FnObj::name() const { return code->name; }

Result<Value> FnNode::eval(Interpreter::State& st) const {
    auto* obj = new FnObj(this, owner.lock(), captures.size());
    Value fn = Value::object(Type::Function, obj);
    for (const auto& c : captures) {
        switch (c.from) {
            case CaptureSource::From::Local: obj->captures.push_back(st.local(c.index)); break;
            case CaptureSource::From::Capture:
                obj->captures.push_back(st.self->captures[c.index]);
                break;
            case CaptureSource::From::Self:
                obj->captures.push_back(Value::object(Type::Function, const_cast<FnObj*>(st.self)));
                break;
        }
    }
    return fn;
}

Result<Value> CallNode::eval(Interpreter::State& st) const {
    RTFS_TRY(Value f, fn->eval(st));
    RTFS_CHECK(st.reserve(args.size()));
    const size_t top = st.stack.size();
    for (const auto& a : args) {
        auto v = a->eval(st);
        if (!v) {
            st.stack.resize(top);
            return located(std::move(v), *this);
        }
        st.stack.push_back(std::move(*v));
    }
    if (f.is(Type::Function)) {  // the common case, without an extra native frame
        auto r = st.call_closure(f.fn(), top, args.size());
        if (!r) return located(std::move(r), *this);
        return r;
    }
    return located(st.invoke(f, top, args.size()), *this);
}

Result<Value> DefNode::eval(Interpreter::State& st) const {
    RTFS_TRY(Value v, init->eval(st));
    // A value a limit cut short outside any builtin (a map or set literal, read or built,
    // stopped by keep_building) is never kept: a global outlives the evaluation that failed, and
    // a REPL's next line read the cut map (a review, 2026-12-06).
    if (auto stopped = take_walk_interruption()) return located(unexpected(std::move(*stopped)), *this);
    if (type) {
        auto ok = conforms(v, *type);
        if (!ok) return located(unexpected(std::move(ok).error()), *this);
        if (!*ok)
            return located(unexpected(annotation_error(cell ? cell->name : local->name, *type, v, false)), *this);
    }
    if (cell) {
        cell->value = v;
        cell->defined = true;
    } else {
        RTFS_CHECK(bind_target(*local, v, st));
    }
    return v;
}

Result<Value> LoopNode::eval(Interpreter::State& st) const {
    for (size_t i = 0; i < targets.size(); ++i) {
        RTFS_TRY(Value v, inits[i]->eval(st));
        RTFS_CHECK(bind_target(targets[i], std::move(v), st));
    }
    for (;;) {
        RTFS_TRY(Value r, body->eval(st));
        if (!r.is(Type::Recur)) return r;
        RTFS_CHECK(st.tick());
    }
}

Result<Value> RecurNode::eval(Interpreter::State& st) const {
    // Evaluate every argument before rebinding any: (recur (+ a b) a) sees the old a.
    RTFS_CHECK(st.reserve(args.size()));
    const size_t top = st.stack.size();
    for (const auto& a : args) {
        auto v = a->eval(st);
        if (!v) {
            st.stack.resize(top);
            return v;
        }
        st.stack.push_back(std::move(*v));
    }
    for (size_t i = 0; i < args.size(); ++i) {
        auto r = bind_target((*targets)[i], std::move(st.stack[top + i]), st);
        if (!r) {
            st.stack.resize(top);
            return unexpected(std::move(r).error());
        }
    }
    st.stack.resize(top);
    return Value::recur_signal();
}

static bool catchable(ErrorKind k) {
    // A program must not be able to swallow its own interruption or resource limit.
    return k != ErrorKind::Interrupted && k != ErrorKind::ResourceLimit;
}

Result<Value> TryNode::eval(Interpreter::State& st) const {
    const size_t top = st.stack.size();
    const size_t base = st.base;
    const FnObj* self = st.self;
    const uint32_t depth = st.depth;
    Result<Value> r = body->eval(st);
    if (!r) {
        st.stack.resize(top);
        st.base = base;
        st.self = self;
        st.depth = depth;
        const Error& e = r.error();
        if (catchable(e.kind())) {
            for (const auto& c : catches) {
                if (!c.any && c.kind != e.kind()) continue;
                st.local(c.slot) = e.value();
                r = c.body->eval(st);
                break;
            }
        }
    }
    if (finally) {
        RTFS_TRY(Value ignored, finally->eval(st));
        (void)ignored;
    }
    return r;
}

Result<Value> MatchNode::eval(Interpreter::State& st) const {
    RTFS_TRY(Value v, subject->eval(st));
    Value* frame = st.stack.data() + st.base;
    for (const auto& c : clauses) {
        if (!match_pattern(c.pattern, v, frame)) continue;
        if (c.guard) {
            RTFS_TRY(Value g, c.guard->eval(st));
            if (!g.truthy()) continue;
        }
        return c.body->eval(st);
    }
    // The spec's message, as is (section 7); the value, for debugging, in the error's data.
    return located(unexpected(Error(ErrorKind::MatchError, "Match error: No matching clause", v)),
                   *this);
}

namespace {

// The values a `for` collects, charged to the heap as they are gathered (by the vector's
// capacity, as a vector value is charged), so that the memory limit holds before the vector
// value exists; the charge is given back once that value, which charges itself, is made.
struct Collected {
    HeapStats& heap;
    std::vector<Value> items;
    int64_t charged = 0;
    explicit Collected(HeapStats& h) : heap(h) {}
    Collected(const Collected&) = delete;
    Collected& operator=(const Collected&) = delete;
    ~Collected() { heap.live_bytes -= charged; }
    Expected<void, Error> push(Value v) {
        if (items.size() == items.capacity()) {
            const size_t next = items.empty() ? 8 : items.capacity() * 2;
            const auto more = static_cast<int64_t>((next - items.capacity()) * sizeof(Value));
            RTFS_CHECK(charge_alloc(more));
            items.reserve(next);
            heap.add(more);
            charged += more;
        }
        items.push_back(std::move(v));
        return Ok{};
    }
};

// Returns false when a :while clause stopped the iteration. `out` is null for doseq, which
// collects nothing.
Result<bool> run_for(const ForNode& n, size_t i, Interpreter::State& st, Collected* out) {
    if (i == n.clauses.size()) {
        RTFS_TRY(Value v, n.body->eval(st));
        if (out) RTFS_CHECK(out->push(std::move(v)));
        return true;
    }
    const ForClause& c = n.clauses[i];
    switch (c.kind) {
        case ForClause::Kind::When: {
            RTFS_TRY(Value t, c.expr->eval(st));
            if (!t.truthy()) return true;
            return run_for(n, i + 1, st, out);
        }
        case ForClause::Kind::While: {
            RTFS_TRY(Value t, c.expr->eval(st));
            if (!t.truthy()) return false;
            return run_for(n, i + 1, st, out);
        }
        case ForClause::Kind::Let: {
            RTFS_TRY(Value ignored, c.let->eval(st));
            (void)ignored;
            return run_for(n, i + 1, st, out);
        }
        case ForClause::Kind::Each: {
            RTFS_TRY(Value coll, c.expr->eval(st));
            RTFS_TRY(auto items, stdlib::items_of("for", coll));
            for (auto& x : items) {
                RTFS_CHECK(st.tick());
                RTFS_CHECK(bind_target(c.target, std::move(x), st));
                RTFS_TRY(bool go_on, run_for(n, i + 1, st, out));
                if (!go_on) break;
            }
            return true;
        }
    }
    return true;
}

}  // namespace

Result<Value> ForNode::eval(Interpreter::State& st) const {
    if (!collect) {
        RTFS_TRY(bool ignored, run_for(*this, 0, st, nullptr));
        (void)ignored;
        return Value();
    }
    Collected out(st.heap);
    RTFS_TRY(bool ignored, run_for(*this, 0, st, &out));
    (void)ignored;
    // The vector value charges itself: the gathering's charge goes first, so the peak does not
    // count the same storage twice.
    out.heap.live_bytes -= out.charged;
    out.charged = 0;
    return make_vector(std::move(out.items));
}

Result<Value> DotimesNode::eval(Interpreter::State& st) const {
    RTFS_TRY(Value nv, count->eval(st));
    if (!nv.is(Type::Int))
        return located(error(ErrorKind::TypeError, std::string("Type error in dotimes: expected "
                                                               "integer, got ") +
                                                       type_name(nv)),
                       *this);
    Value last;
    for (int64_t i = 0; i < nv.as_int(); ++i) {
        RTFS_CHECK(st.tick());
        st.local(slot) = Value::integer(i);
        RTFS_TRY(last, body->eval(st));
    }
    return last;
}

Result<Value> AndNode::eval(Interpreter::State& st) const {
    Value v = is_or ? Value() : Value::boolean(true);  // (or) is nil, (and) is true
    for (const auto& e : exprs) {
        RTFS_TRY(v, e->eval(st));
        if (is_or ? v.truthy() : !v.truthy()) return v;
    }
    return v;
}

Result<Value> CapabilityNode::eval(Interpreter::State& st) const {
    RTFS_TRY(Value idv, id->eval(st));
    if (!idv.is(Type::Keyword) && !idv.is(Type::String) && !idv.is(Type::Symbol))
        return located(error(ErrorKind::TypeError,
                             std::string("Type error in call: expected capability id, got ") +
                                 type_name(idv)),
                       *this);
    std::vector<Value> argv;
    argv.reserve(args.size());
    for (const auto& a : args) {
        RTFS_TRY(Value v, a->eval(st));
        argv.push_back(std::move(v));
    }
    return located(st.owner->call_capability(idv.str(), argv), *this);
}

Result<Value> CollectionNode::eval(Interpreter::State& st) const {
    std::vector<Value> vals;
    vals.reserve(items.size());
    for (const auto& i : items) {
        RTFS_TRY(Value v, i->eval(st));
        vals.push_back(std::move(v));
    }
    if (type == Type::Vector) return make_vector(std::move(vals));
    Value built;
    if (type == Type::Set) {
        built = make_set(std::move(vals));
    } else {
        std::vector<std::pair<Value, Value>> entries;
        entries.reserve(vals.size() / 2);
        for (size_t i = 0; i + 1 < vals.size(); i += 2)
            entries.emplace_back(std::move(vals[i]), std::move(vals[i + 1]));
        built = make_map(std::move(entries));
    }
    // A set or map whose equality walks were cut short (a catchable RecursionLimit kept by the
    // walk) may hold duplicates: never let a program catch the error and keep it (red team,
    // 2026-12-06).
    if (auto stopped = take_walk_interruption()) return located(unexpected(std::move(*stopped)), *this);
    return built;
}

Result<Value> DerefNode::eval(Interpreter::State& st) const {
    if (st.opts.host) {
        if (auto v = st.opts.host->context_value(name)) return *v;
    }
    return located(error(ErrorKind::UndefinedSymbol, "Undefined host context value: @" + name),
                   *this);
}

Result<Value> QuasiNode::eval(Interpreter::State& st) const {
    switch (kind) {
        case Kind::Const: return constant;
        case Kind::Unquote:
        case Kind::Splice: return expr->eval(st);
        case Kind::List:
        case Kind::Vector: {
            std::vector<Value> out;
            for (const auto& p : parts) {
                RTFS_TRY(Value v, p->eval(st));
                if (p->kind == Kind::Splice) {
                    if (v.is_nil()) continue;
                    if (!v.is_seq())
                        return error(ErrorKind::TypeError,
                                     std::string("Type error in unquote-splicing: expected "
                                                 "collection, got ") +
                                         type_name(v));
                    for (const auto& x : v.items()) out.push_back(x);
                } else {
                    out.push_back(std::move(v));
                }
            }
            return kind == Kind::List ? make_list(std::move(out)) : make_vector(std::move(out));
        }
        case Kind::Map: {
            std::vector<std::pair<Value, Value>> entries;
            for (size_t i = 0; i + 1 < parts.size(); i += 2) {
                RTFS_TRY(Value k, parts[i]->eval(st));
                RTFS_TRY(Value v, parts[i + 1]->eval(st));
                entries.emplace_back(std::move(k), std::move(v));
            }
            return make_map(std::move(entries));
        }
    }
    return Value();
}

}  // namespace rtfs
