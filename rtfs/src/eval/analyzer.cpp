// Forms -> nodes. Malformed special forms are ReadErrors with the form's line:column.
#include "eval/analyzer.hpp"

#include <algorithm>
#include <set>
#include <string>

#include "eval/annotations.hpp"
#include "native_stack.hpp"
#include "rtfs/printer.hpp"

namespace rtfs {
namespace {

constexpr int kMaxMacroExpansions = 200;
constexpr int kMaxAnalyzeDepth = 2000;
// Forms one top-level form may expand into. A macro can return a shared structure (a vector of
// 1000 references to a vector of 1000 references to ...): a few KB of RTFS data that would be
// analysed as 10^9 forms, into nodes the RTFS heap does not count. The budget is the smaller of
// this and one form per kBytesPerForm of the memory limit (nodes cost about that much),
// but at least kMinAnalyzedForms.
constexpr uint64_t kMaxAnalyzedForms = 1'000'000;
constexpr int64_t kBytesPerForm = 128;
constexpr uint64_t kMinAnalyzedForms = 65'536;  // even under a tiny memory limit
// Log entries the analysis of if branches may go through (tens of milliseconds) before it gives
// up telling them apart (Analyzer::set_aside_branch).
constexpr uint64_t kMaxBranchWork = 1'000'000;

// Lexical scope of one function (the top-level form is a function without parameters).
struct FnScope {
    FnScope* parent = nullptr;
    std::vector<std::pair<std::string, uint32_t>> locals;  // visible bindings, innermost last
    // What the function captures, by the symbol that named it first (no copy of the name per
    // function it passes through: 300 names of 10 KB read under 900 nested fns were 2.7 GB and
    // 47 s of comparisons, red team 2026-12-07) and that name's hash (compared first).
    struct Capture {
        Value symbol;
        size_t hash;
        CaptureSource source;
    };
    std::vector<Capture> captures;
    std::string self_name;
    uint32_t next_slot = 0;
    uint32_t max_slots = 0;
    std::vector<uint32_t> uses;  // reads of each slot analysed so far (for last-use moves)

    // The binding a slot holds now, and the reads of it that nothing has followed so far (one
    // per branch that read it last): once the binding is over, they are its last reads and
    // move the value out (Analyzer::finish_binding).
    struct Binding {
        std::vector<LocalNode*> last_reads;  // only reads that may move (Analyzer::note_read)
        uint32_t depth = 0;  // repetitions around the binding (Analyzer::repeat_depth_)
        bool movable = false;
        uint64_t collected_by = 0;  // the collector that has this slot (Analyzer::note_collected)
    };
    std::vector<Binding> bindings;
    std::vector<uint32_t> read_log;  // slots read, in order (an if's branches are told apart)

    uint32_t alloc() {
        uint32_t s = next_slot++;
        max_slots = std::max(max_slots, next_slot);
        if (uses.size() < max_slots) uses.resize(max_slots, 0);
        if (bindings.size() < max_slots) bindings.resize(max_slots);
        return s;
    }
};

enum class RefKind { Local, Capture, Self, Global };
struct Ref {
    RefKind kind;
    uint32_t index = 0;
};

bool is_symbol(const Value& v, const char* name) { return v.is(Type::Symbol) && v.str() == name; }

class Analyzer {
public:
    Analyzer(Interpreter::State& st, const SourcePositions* positions,
             std::shared_ptr<Unit> unit)
        : st_(st), positions_(positions), unit_(std::move(unit)),
          stack_floor_(detail::stack_floor_here()) {}

    Result<NodeP> toplevel(const Value& form) {
        scope_ = &root_;
        RTFS_TRY(NodeP n, analyze(form, false));
        finish_bindings(root_);
        unit_->nslots = root_.max_slots;
        return n;
    }

private:
    // ---- helpers ----------------------------------------------------------------------------

    SourcePos pos_of(const Value& form) const {
        if (form.is_heap()) {
            if (positions_) {
                auto it = positions_->find(form.object_ptr());
                if (it != positions_->end()) return it->second;
            }
            auto it = extra_positions_.find(form.object_ptr());
            if (it != extra_positions_.end()) return it->second;
        }
        return current_pos_;
    }

    Unexpected<Error> syntax(const Value& form, std::string msg) const {
        Error e(ErrorKind::ReadError, std::move(msg));
        SourcePos p = pos_of(form);
        e.locate(p.line, p.column);
        return {std::move(e)};
    }

    // Every form analysed counts against the budget; every 4096, the deadline and cancel flag
    // are checked, since analysis runs no RTFS code that would tick.
    // The budget is the interpreter's, for all the code it analyses: a budget per top-level
    // form let many forms each under it hold what they liked (state.hpp). A name counts a form
    // per kBytesPerForm of it, for each copy the analysed code keeps (copies).
    Expected<void, Error> count_form(const Value& form, uint64_t n = 1) {
        if (form.is(Type::Symbol) || form.is(Type::Keyword)) n += form.str().size() / kBytesPerForm;
        uint64_t& forms = *st_.analyzed_forms;
        const uint64_t before = forms;
        count(n);
        if (forms > form_budget()) {
            Error e(ErrorKind::ResourceLimit,
                    "Memory limit exceeded: the program (after macro expansion) has more than " +
                        std::to_string(form_budget()) + " forms to analyse");
            SourcePos p = pos_of(form);
            e.locate(p.line, p.column);
            return unexpected(std::move(e));
        }
        if ((before >> 12) != (forms >> 12)) return st_.slow_check();
        return Ok{};
    }

    // Forms of this unit, in the interpreter's count and its own (given back when it dies: a
    // difference of the count before and after counted twice a unit that died meanwhile, its
    // code freed by a macro's def, and its forms stayed counted for good; review, 2026-12-07).
    void count(uint64_t n) {
        *st_.analyzed_forms += n;
        unit_->forms += n;
    }
    // A copy of a name the analysed code keeps (a local's, a pattern's, a target's): counted,
    // and judged by the next count_form (the copy is made already; its source was charged).
    void charge_name(size_t bytes) { count(bytes / kBytesPerForm); }

    uint64_t form_budget() const {
        const int64_t limit = st_.opts.memory_limit_bytes;
        if (limit <= 0) return kMaxAnalyzedForms;
        const uint64_t by_memory = static_cast<uint64_t>(limit / kBytesPerForm);
        return std::clamp<uint64_t>(by_memory, kMinAnalyzedForms, kMaxAnalyzedForms);
    }

    template <class N>
    std::unique_ptr<N> make(const Value& form) const {
        auto n = std::make_unique<N>();
        n->pos = pos_of(form);
        return n;
    }

    NodeP constant(Value v, const Value& form) const {
        auto n = make<ConstNode>(form);
        n->value = std::move(v);
        return n;
    }

    Ref resolve(FnScope* s, const Value& symbol) {
        return resolve(s, symbol, hash_value(symbol));  // kept in the symbol once computed
    }
    Ref resolve(FnScope* s, const Value& symbol, size_t hash) {
        const std::string& name = symbol.str();
        for (auto it = s->locals.rbegin(); it != s->locals.rend(); ++it) {
            if (it->first == name) {
                ++s->uses[it->second];
                // A closure made here copies the slot: no earlier read is the last.
                if (s != scope_) {
                    s->bindings[it->second].last_reads.clear();
                    note_collected(s, it->second);
                }
                return {RefKind::Local, it->second};
            }
        }
        if (!s->self_name.empty() && s->self_name == name) return {RefKind::Self};
        for (size_t i = 0; i < s->captures.size(); ++i) {
            const FnScope::Capture& c = s->captures[i];
            if (c.hash == hash && c.symbol.str() == name) return {RefKind::Capture, static_cast<uint32_t>(i)};
        }
        if (!s->parent) return {RefKind::Global};
        Ref outer = resolve(s->parent, symbol, hash);
        if (outer.kind == RefKind::Global) return outer;
        CaptureSource src{outer.kind == RefKind::Local     ? CaptureSource::From::Local
                          : outer.kind == RefKind::Capture ? CaptureSource::From::Capture
                                                           : CaptureSource::From::Self,
                          outer.index};
        s->captures.push_back({symbol, hash, src});
        return {RefKind::Capture, static_cast<uint32_t>(s->captures.size() - 1)};
    }

    bool is_local_name(const std::string& name) {
        for (FnScope* s = scope_; s; s = s->parent) {
            for (const auto& l : s->locals)
                if (l.first == name) return true;
            if (s->self_name == name) return true;
        }
        return false;
    }

    NodeP symbol_ref(const Value& form) {
        const std::string& name = form.str();
        Ref r = resolve(scope_, form);
        switch (r.kind) {
            case RefKind::Local: {
                auto n = make<LocalNode>(form);
                n->slot = r.index;
                note_read(*n);
                return n;
            }
            case RefKind::Capture: {
                auto n = make<CaptureNode>(form);
                n->index = r.index;
                return n;
            }
            case RefKind::Self: return make<SelfNode>(form);
            case RefKind::Global: break;
        }
        // Always the global cell, even for a builtin's name: a program may define a global of
        // that name later (spec §2), and every reference, earlier or later, then sees it.
        auto n = make<GlobalNode>(form);
        n->cell = st_.global(name);
        n->builtin = find_builtin(name);
        return n;
    }

    // ---- dispatch ---------------------------------------------------------------------------

    // Whatever is parsed recursively from a form (code, binding and match patterns, quasiquote
    // templates) counts against the form budget and the depth limit, and so polls the deadline:
    // patterns were parsed outside both, and a pattern a million vectors deep overflowed the
    // host's stack, a [p p] pattern nested 23 levels was 8 million nodes (red team, 2026-12-07).
    template <class F>
    auto nested(const Value& form, F&& parse) -> decltype(parse()) {
        if (auto counted = count_form(form); !counted) return unexpected(std::move(counted).error());
        if (++depth_ > kMaxAnalyzeDepth || detail::below_stack_floor(stack_floor_)) {
            --depth_;
            return syntax(form, "program nested too deeply");
        }
        auto r = parse();
        --depth_;
        return r;
    }

    Result<NodeP> analyze(const Value& form, bool tail) {
        return nested(form, [&] { return analyze_inner(form, tail); });
    }

    Result<NodeP> analyze_inner(const Value& form, bool tail) {
        switch (form.type()) {
            case Type::Symbol: return symbol_ref(form);
            case Type::List: return analyze_list(form, tail);
            case Type::Vector: return analyze_collection(form, Type::Vector, form.items());
            case Type::Set: return analyze_collection(form, Type::Set, form.items());
            case Type::Map: {
                std::vector<Value> flat;
                for (const auto& [k, v] : form.map().entries()) {
                    flat.push_back(k);
                    flat.push_back(v);
                }
                return analyze_collection(form, Type::Map, flat);
            }
            default: return constant(form, form);
        }
    }

    Result<NodeP> analyze_collection(const Value& form, Type type, std::span<const Value> items) {
        auto n = make<CollectionNode>(form);
        n->type = type;
        bool all_const = true;
        for (const auto& x : items) {
            RTFS_TRY(NodeP c, analyze(x, false));
            all_const = all_const && dynamic_cast<ConstNode*>(c.get()) != nullptr;
            n->items.push_back(std::move(c));
        }
        if (all_const) {
            // Fold to one constant built from the items' values ([inc] holds the builtin, not
            // the symbol).
            std::vector<Value> vals;
            for (const auto& c : n->items) vals.push_back(static_cast<ConstNode*>(c.get())->value);
            Value folded;
            if (type == Type::Vector) {
                folded = make_vector(std::move(vals));
            } else if (type == Type::Set) {
                folded = make_set(std::move(vals));
            } else {
                std::vector<std::pair<Value, Value>> entries;
                for (size_t i = 0; i + 1 < vals.size(); i += 2)
                    entries.emplace_back(std::move(vals[i]), std::move(vals[i + 1]));
                folded = make_map(std::move(entries));
            }
            // As CollectionNode::eval: a set or map built while a walk was cut short is refused.
            if (auto stopped = take_walk_interruption()) return unexpected(std::move(*stopped));
            return constant(std::move(folded), form);
        }
        return NodeP(std::move(n));
    }

    Result<NodeP> analyze_list(const Value& form, bool tail) {
        const auto& items = form.items();
        if (items.empty()) return constant(make_list({}), form);
        SourcePos saved = current_pos_;
        current_pos_ = pos_of(form);
        auto r = analyze_list_inner(form, items, tail);
        current_pos_ = saved;
        return r;
    }

    Result<NodeP> analyze_list_inner(const Value& form, std::span<const Value> items, bool tail) {
        const Value& head = items[0];
        if (head.is(Type::Symbol) && !is_local_name(head.str())) {
            const std::string& h = head.str();
            if (h == "if") return analyze_if(form, items, tail);
            if (h == "do") return analyze_do(form, items, 1, tail);
            if (h == "step") {
                if (items.size() < 2) return syntax(form, "step needs a name");
                return analyze_do(form, items, 2, tail);
            }
            if (h == "let") return analyze_let(form, items, tail);
            if (h == "fn" || h == "fn*" || h == "lambda") return analyze_fn(form, items, 1, "");
            if (h == "def") return analyze_def(form, items);
            if (h == "defn") return analyze_defn(form, items);
            if (h == "quote") {
                if (items.size() != 2) return syntax(form, "quote takes one form");
                return constant(items[1], form);
            }
            if (h == "quasiquote") {
                if (items.size() != 2) return syntax(form, "quasiquote takes one form");
                RTFS_TRY(auto q, analyze_quasi(items[1]));
                return NodeP(std::move(q));
            }
            if (h == "unquote" || h == "unquote-splicing")
                return syntax(form, h + " outside of quasiquote");
            if (h == "loop") return analyze_loop(form, items, tail);
            if (h == "recur") return analyze_recur(form, items, tail);
            if (h == "try") return analyze_try(form, items);
            if (h == "match") return analyze_match(form, items, tail);
            if (h == "for") return analyze_for(form, items);
            if (h == "dotimes") return analyze_dotimes(form, items);
            if (h == "doseq") return analyze_doseq(form, items);
            if (h == "and" || h == "or") {
                auto n = make<AndNode>(form);
                n->is_or = h == "or";
                // The last expression is in tail position: its value is the form's. A def in an
                // operand after the first, which may not run, binds for that operand only (as in
                // an if's branch).
                size_t saved_locals = scope_->locals.size();
                for (size_t i = 1; i < items.size(); ++i) {
                    RTFS_TRY(NodeP e, analyze(items[i], tail && i + 1 == items.size()));
                    if (i == 1) saved_locals = scope_->locals.size();
                    scope_->locals.resize(saved_locals);
                    n->exprs.push_back(std::move(e));
                }
                return NodeP(std::move(n));
            }
            if (h == "call") return analyze_call_capability(form, items);
            if (h == "deref") {
                if (items.size() != 2 || !items[1].is(Type::Symbol))
                    return syntax(form, "@ must be followed by a name");
                auto n = make<DerefNode>(form);
                n->name = items[1].str();
                return NodeP(std::move(n));
            }
            if (h == "defmacro") return analyze_defmacro(form, items);
            if (h == "cond") {
                if (items.size() % 2 == 0)
                    return syntax(form, "cond needs test and expression pairs, got an odd number "
                                        "of forms");
                return analyze(desugar_cond(form, items, 1), tail);
            }
            if (h == "when" || h == "when-not") {
                if (items.size() < 2) return syntax(form, h + " needs a condition");
                std::vector<Value> body{make_symbol("do")};
                body.insert(body.end(), items.begin() + 2, items.end());
                // No call of `not`: a program may define a global of that name after this form.
                if (h == "when") return analyze(relist(form, {make_symbol("if"), items[1], relist(form, body)}), tail);
                return analyze(relist(form, {make_symbol("if"), items[1], Value(), relist(form, body)}), tail);
            }
            if (h == "if-not") {
                if (items.size() < 3 || items.size() > 4)
                    return syntax(form, "if-not takes a condition, then and optional else");
                // The branches swapped rather than a call of `not` (see when-not).
                return analyze(relist(form, {make_symbol("if"), items[1], items.size() == 4 ? items[3] : Value(),
                                             items[2]}),
                               tail);
            }
            if (h == "if-let" || h == "when-let") return analyze_if_let(form, items, tail);
            if (h == "->" || h == "->>") return analyze(thread(form, items, h == "->>"), tail);
            auto m = st_.macros.find(h);
            if (m != st_.macros.end()) return analyze_macro_call(form, m->second, tail);
        }
        auto n = make<CallNode>(form);
        RTFS_TRY(n->fn, analyze(head, false));
        n->args.reserve(items.size() - 1);
        const std::vector<uint32_t> uses_before = scope_->uses;
        for (size_t i = 1; i < items.size(); ++i) {
            RTFS_TRY(NodeP a, analyze(items[i], false));
            n->args.push_back(std::move(a));
        }
        // After a call in tail position of the function body the frame dies: a local read
        // exactly once among the arguments can be moved into the call.
        if (tail && frame_tail_ok_) mark_last_uses(n->args, uses_before, nullptr);
        return NodeP(std::move(n));
    }

    // Marks argument nodes that read a local slot which nothing else in the same argument list
    // reads (uses counted since `before`) as moves. The walk descends into nested calls' arguments
    // (evaluated exactly once, in order) and nowhere else. With `only`, just those slots qualify.
    void mark_last_uses(std::vector<NodeP>& args, const std::vector<uint32_t>& before,
                        const std::vector<Target>* only) {
        for (auto& a : args) {
            if (auto* call = dynamic_cast<CallNode*>(a.get())) {
                mark_last_uses(call->args, before, only);
                continue;
            }
            auto* local = dynamic_cast<LocalNode*>(a.get());
            if (!local) continue;
            const uint32_t s = local->slot;
            const uint32_t earlier = s < before.size() ? before[s] : 0;
            if (scope_->uses[s] - earlier != 1) continue;
            if (only) {
                bool rebound = false;
                for (const auto& t : *only) rebound = rebound || t.raw_slot == s;
                if (!rebound) continue;
            }
            local->move_out = true;
        }
    }

    // A new list form that keeps the source position of `like`.
    Value relist(const Value& like, std::vector<Value> items) {
        Value v = make_list(std::move(items));
        extra_positions_[v.object_ptr()] = pos_of(like);
        keep_.push_back(v);
        return v;
    }

    // ---- simple forms -----------------------------------------------------------------------

    Result<NodeP> analyze_if(const Value& form, std::span<const Value> items, bool tail) {
        if (items.size() < 3 || items.size() > 4)
            return syntax(form, "if takes a condition, a then branch and an optional else branch");
        auto n = make<IfNode>(form);
        RTFS_TRY(n->cond, analyze(items[1], false));
        const size_t log_mark = scope_->read_log.size();
        // A def that is a branch binds for that branch only: after the if, its name would stand
        // for a slot the other branch never bound (holding whatever an earlier binding left).
        const size_t saved_locals = scope_->locals.size();
        RTFS_TRY(n->then, analyze(items[2], tail));
        scope_->locals.resize(saved_locals);
        SetAside then_reads = set_aside_branch(log_mark);
        if (items.size() == 4) {
            RTFS_TRY(n->otherwise, analyze(items[3], tail));
            scope_->locals.resize(saved_locals);
        }
        put_back_branch(std::move(then_reads));
        return NodeP(std::move(n));
    }

    // A body: forms evaluated in order, the last in tail position. Local defs inside it bind
    // for the rest of the body.
    Result<NodeP> analyze_body(const Value& form, std::span<const Value> items, size_t from,
                               bool tail) {
        size_t saved_locals = scope_->locals.size();
        uint32_t saved_slot = scope_->next_slot;
        auto n = make<DoNode>(form);
        for (size_t i = from; i < items.size(); ++i) {
            RTFS_TRY(NodeP e, analyze(items[i], tail && i + 1 == items.size()));
            n->body.push_back(std::move(e));
        }
        if (lexical_depth_ > 0) {
            scope_->locals.resize(saved_locals);
            scope_->next_slot = saved_slot;
        }
        if (n->body.size() == 1) return std::move(n->body[0]);
        if (n->body.empty()) return constant(Value(), form);
        return NodeP(std::move(n));
    }

    Result<NodeP> analyze_do(const Value& form, std::span<const Value> items, size_t from,
                             bool tail) {
        return analyze_body(form, items, from, tail);
    }

    Value desugar_cond(const Value& form, std::span<const Value> items, size_t i) {
        if (i >= items.size()) return Value();
        const Value& test = items[i];
        Value then = i + 1 < items.size() ? items[i + 1] : Value();
        if (test.is(Type::Keyword) && test.str() == "else") return then;
        return relist(form, {make_symbol("if"), test, then, desugar_cond(form, items, i + 2)});
    }

    Value thread(const Value& form, std::span<const Value> items, bool last) {
        if (items.size() < 2) return Value();
        Value acc = items[1];
        for (size_t i = 2; i < items.size(); ++i) {
            const Value& step = items[i];
            std::vector<Value> call;
            if (step.is(Type::List) && !step.items().empty()) {
                call.assign(step.items().begin(), step.items().end());
                if (last) {
                    call.push_back(acc);
                } else {
                    call.insert(call.begin() + 1, acc);
                }
            } else {
                call = {step, acc};
            }
            acc = relist(step.is(Type::List) ? step : form, std::move(call));
        }
        return acc;
    }

    Result<NodeP> analyze_if_let(const Value& form, std::span<const Value> items, bool tail) {
        const bool is_when = items[0].str() == "when-let";
        if (items.size() < 3 || !items[1].is(Type::Vector) || items[1].items().size() != 2)
            return syntax(form, items[0].str() + " needs [pattern expr] and a body");
        if (!is_when && items.size() > 4)
            return syntax(form, "if-let takes a binding, then and optional else");
        Value tmp = make_symbol(" if-let-" + std::to_string(++gensym_));
        const auto& b = items[1].items();
        Value then;
        if (is_when) {
            std::vector<Value> body{make_symbol("do")};
            body.insert(body.end(), items.begin() + 2, items.end());
            then = relist(form, body);
        } else {
            then = items[2];
        }
        Value inner = relist(form, {make_symbol("let"), make_vector({b[0], tmp}), then});
        std::vector<Value> iff{make_symbol("if"), tmp, inner};
        if (!is_when && items.size() == 4) iff.push_back(items[3]);
        return analyze(relist(form, {make_symbol("let"), make_vector({tmp, b[1]}),
                                     relist(form, iff)}),
                       tail);
    }

    // ---- patterns and annotations -----------------------------------------------------------

    // Parses a binding pattern; names are collected in `names` (added to scope by the caller).
    Expected<void, Error> parse_destructure(const Value& form, Pattern& p,
                                            std::vector<std::pair<std::string, uint32_t>>& names) {
        return nested(form, [&] { return parse_destructure_inner(form, p, names); });
    }
    Expected<void, Error> parse_destructure_inner(const Value& form, Pattern& p,
                                                  std::vector<std::pair<std::string, uint32_t>>& names) {
        if (form.is(Type::Symbol)) {
            RTFS_TRY(size_t used, parse_name(std::span<const Value>(&form, 1), 0, p, names));
            (void)used;
            return Ok{};
        }
        if (form.is(Type::Vector)) return parse_seq_pattern(form, p, names);
        if (form.is(Type::Map)) return parse_map_pattern(form, p, names);
        return syntax(form, "invalid binding pattern " + print(form));
    }

    // The name at xs[i], maybe annotated in place (`x:int`, `xs:` + type): a Bind (an Ignore
    // for `_`) pattern. Returns the forms used.
    Result<size_t> parse_name(std::span<const Value> xs, size_t i, Pattern& p,
                              std::vector<std::pair<std::string, uint32_t>>& names) {
        Value name;
        RTFS_TRY(size_t used, read_name(xs, i, &name, &p.type));
        if (name.str() == "&") return syntax(name, "misplaced &");
        p.name = name.str();
        charge_name(2 * p.name.size());  // the pattern's and the names list's
        if (p.name == "_") {
            p.kind = Pattern::Kind::Ignore;
            return used;
        }
        p.kind = Pattern::Kind::Bind;
        p.slot = scope_->alloc();
        names.emplace_back(p.name, p.slot);
        return used;
    }

    // An element of a vector pattern or a parameter list: a name (maybe annotated in place) or
    // a nested pattern. Returns the forms used.
    Result<size_t> parse_element(std::span<const Value> xs, size_t i, Pattern& p,
                                 std::vector<std::pair<std::string, uint32_t>>& names) {
        if (xs[i].is(Type::Symbol)) return parse_name(xs, i, p, names);
        RTFS_CHECK(parse_destructure(xs[i], p, names));
        return size_t{1};
    }

    // [a b & rest :as all]
    Expected<void, Error> parse_seq_pattern(const Value& form, Pattern& p,
                                            std::vector<std::pair<std::string, uint32_t>>& names) {
        p.kind = Pattern::Kind::Seq;
        const auto& xs = form.items();
        for (size_t i = 0; i < xs.size();) {
            if (is_symbol(xs[i], "&")) {
                if (p.rest_pattern || i + 1 >= xs.size())
                    return syntax(form, "& must be followed by one name");
                p.rest_pattern = std::make_unique<Pattern>();
                RTFS_TRY(size_t used, parse_element(xs, i + 1, *p.rest_pattern, names));
                p.rest_pattern->rest = true;
                i += 1 + used;
                continue;
            }
            if (xs[i].is(Type::Keyword) && xs[i].str() == "as") {
                if (i + 1 >= xs.size() || !xs[i + 1].is(Type::Symbol))
                    return syntax(form, ":as must be followed by a name");
                p.has_as = true;
                p.as_slot = scope_->alloc();
                names.emplace_back(xs[i + 1].str(), p.as_slot);
                i += 2;
                continue;
            }
            if (p.rest_pattern) return syntax(form, "only :as may follow the & rest binding");
            Pattern e;
            RTFS_TRY(size_t used, parse_element(xs, i, e, names));
            p.elems.push_back(std::move(e));
            i += used;
        }
        return Ok{};
    }

    // {:keys [a b] :strs [c] :syms [d] :as m :or {a 0} x :k :y y}: besides the directives, an
    // entry is either Clojure's `name key` or the reference's key-first `:key name` (spec
    // section 3); the two tell apart by the keyword being first. :or defaults are expressions,
    // evaluated only for a missing key, in the scope around the pattern.
    Expected<void, Error> parse_map_pattern(const Value& form, Pattern& p,
                                            std::vector<std::pair<std::string, uint32_t>>& names) {
        p.kind = Pattern::Kind::Map;
        const Value* defaults = nullptr;
        for (const auto& [k, v] : form.map().entries()) {
            const std::string directive = k.is(Type::Keyword) ? k.str() : std::string();
            if (directive == "keys" || directive == "strs" || directive == "syms") {
                if (!v.is(Type::Vector))
                    return syntax(form, ":" + directive + " needs a vector of names");
                const auto& ns = v.items();
                for (size_t i = 0; i < ns.size();) {
                    if (!ns[i].is(Type::Symbol))
                        return syntax(form, ":" + directive + " entries must be names");
                    Pattern e;
                    RTFS_TRY(size_t used, parse_name(ns, i, e, names));
                    const std::string key = e.name;
                    // {:keys [a/b]} reads :a/b into b, as Clojure's does (and :syms 'a/b).
                    const size_t slash = key.find('/');
                    if (directive != "strs" && e.kind == Pattern::Kind::Bind && slash != std::string::npos &&
                        slash > 0 && slash + 1 < key.size()) {
                        e.name = key.substr(slash + 1);
                        names.back().first = e.name;
                    }
                    p.keys.push_back(directive == "keys"   ? make_keyword(key)
                                     : directive == "strs" ? make_string(key)
                                                           : make_symbol(key));
                    p.elems.push_back(std::move(e));
                    i += used;
                }
            } else if (directive == "as") {
                if (!v.is(Type::Symbol)) return syntax(form, ":as must be followed by a name");
                p.has_as = true;
                p.as_slot = scope_->alloc();
                names.emplace_back(v.str(), p.as_slot);
            } else if (directive == "or") {
                if (!v.is(Type::Map)) return syntax(form, ":or needs a map of names to defaults");
                defaults = &v;
            } else {
                const bool key_first = k.is(Type::Keyword);  // {:a a} (reference), else {a :a}
                Pattern e;
                RTFS_CHECK(parse_destructure(key_first ? v : k, e, names));
                p.keys.push_back(key_first ? k : v);
                p.elems.push_back(std::move(e));
            }
        }
        if (defaults) RTFS_CHECK(parse_defaults(form, *defaults, p));
        return Ok{};
    }

    // :or {name default ...}: each name must be one this map pattern binds directly.
    Expected<void, Error> parse_defaults(const Value& form, const Value& defaults, Pattern& p) {
        p.defaults.assign(p.elems.size(), nullptr);
        for (const auto& [name, expr] : defaults.map().entries()) {
            size_t at = p.elems.size();
            for (size_t i = 0; i < p.elems.size(); ++i)
                if (p.elems[i].kind == Pattern::Kind::Bind && name.is(Type::Symbol) &&
                    p.elems[i].name == name.str())
                    at = i;
            if (at == p.elems.size())
                return syntax(form, ":or gives a default for " + print(name) +
                                        ", which this map pattern does not bind");
            // Like a body of its own: a def inside a default stays inside it. A default runs when
            // its key is missing, in the pattern's order (not this map's), and again at each
            // recur of a loop or fn: as if repeated, so that no read in it moves a value (red
            // team, 2026-12-07: `:or {b x a x}` read x moved out).
            const size_t saved_locals = scope_->locals.size();
            const uint32_t saved_slot = scope_->next_slot;
            ++repeat_depth_;
            auto node = analyze(expr, false);
            --repeat_depth_;
            scope_->locals.resize(saved_locals);
            scope_->next_slot = saved_slot;
            if (!node) return unexpected(std::move(node).error());
            p.defaults[at] = node->get();
            unit_->extra.push_back(std::move(*node));
        }
        return Ok{};
    }

    Expected<void, Error> parse_match_pattern(const Value& form, Pattern& p,
                                              std::vector<std::pair<std::string, uint32_t>>& names) {
        return nested(form, [&] { return parse_match_pattern_inner(form, p, names); });
    }
    Expected<void, Error> parse_match_pattern_inner(const Value& form, Pattern& p,
                                                    std::vector<std::pair<std::string, uint32_t>>& names) {
        switch (form.type()) {
            case Type::Symbol:
                if (form.str() == "_") {
                    p.kind = Pattern::Kind::Ignore;
                } else {
                    p.kind = Pattern::Kind::Bind;
                    p.slot = scope_->alloc();
                    names.emplace_back(form.str(), p.slot);
                }
                return Ok{};
            case Type::Vector: {
                p.kind = Pattern::Kind::Seq;
                const auto& xs = form.items();
                for (size_t i = 0; i < xs.size(); ++i) {
                    if (is_symbol(xs[i], "&")) {
                        if (i + 2 != xs.size()) return syntax(form, "& must be followed by one pattern");
                        p.rest_pattern = std::make_unique<Pattern>();
                        return parse_match_pattern(xs[i + 1], *p.rest_pattern, names);
                    }
                    Pattern e;
                    RTFS_CHECK(parse_match_pattern(xs[i], e, names));
                    p.elems.push_back(std::move(e));
                }
                return Ok{};
            }
            case Type::Map:
                p.kind = Pattern::Kind::Map;
                for (const auto& [k, v] : form.map().entries()) {
                    Pattern e;
                    RTFS_CHECK(parse_match_pattern(v, e, names));
                    p.keys.push_back(k);
                    p.elems.push_back(std::move(e));
                }
                return Ok{};
            case Type::List: {
                const auto& xs = form.items();
                if (xs.size() == 3 && xs[0].is(Type::Keyword) && xs[0].str() == "as" &&
                    xs[1].is(Type::Symbol)) {
                    p.kind = Pattern::Kind::As;
                    p.slot = scope_->alloc();
                    names.emplace_back(xs[1].str(), p.slot);
                    p.elems.emplace_back();
                    return parse_match_pattern(xs[2], p.elems.back(), names);
                }
                return syntax(form, "invalid match pattern " + print(form));
            }
            default:
                p.kind = Pattern::Kind::Literal;
                p.literal = form;
                return Ok{};
        }
    }

    // read_annotated_name / read_binding (annotations.hpp), with errors located at the form and
    // a name split off an annotated symbol keeping that symbol's position.
    Result<size_t> read_name(std::span<const Value> xs, size_t i, Value* name,
                             std::unique_ptr<TypeSpec>* type) {
        Result<size_t> r = read_annotated_name(xs, i, name, type);
        return placed(xs[i], std::move(r), *name, type->get());
    }
    Result<size_t> read_binding_at(std::span<const Value> xs, size_t i, bool allow_vector,
                                   size_t then, Value* name, std::unique_ptr<TypeSpec>* type) {
        Result<size_t> r = read_binding(xs, i, allow_vector, then, name, type);
        return placed(xs[i], std::move(r), *name, type->get());
    }
    // An annotation's type counts against the form budget, a form per node (types.hpp bounds
    // one type's size): a small form repeated as a binding's type was never counted.
    Result<size_t> placed(const Value& form, Result<size_t> r, const Value& name, const TypeSpec* type) {
        if (!r) {
            Error e = std::move(r).error();
            const SourcePos p = pos_of(form);
            e.locate(p.line, p.column);
            return unexpected(std::move(e));
        }
        if (type) RTFS_CHECK(count_form(form, type_nodes(*type)));
        if (name.is_heap() && form.is_heap() && name.object_ptr() != form.object_ptr()) {
            extra_positions_[name.object_ptr()] = pos_of(form);
            keep_.push_back(name);
        }
        return r;
    }

    // Brings names into scope, bound at the repetition depth the analysis is at (a loop adds its
    // targets one deeper: each recur binds them again). Not movable: a let's pre-declared
    // functions, which its fixups read after the inits.
    void add_names(const std::vector<std::pair<std::string, uint32_t>>& names) {
        for (const auto& [name, slot] : names) add_name(name, slot, repeat_depth_);
    }
    void add_name(const std::string& name, uint32_t slot, uint32_t depth, bool movable = true) {
        FnScope::Binding& b = scope_->bindings[slot];
        finish_binding(b);
        b.depth = depth;
        b.movable = movable;
        charge_name(name.size());
        scope_->locals.emplace_back(name, slot);
    }

    // The binding's latest read is its last: nothing can read the binding after it, unless the
    // read sits in a loop, `for` or `dotimes` that the binding is outside of (it runs again with
    // the same binding). Such a last read moves the value out of the slot, so that what it is
    // passed to holds the only reference and can update it in place: `(let [a2 (cons x acc)]
    // (recur a2))` stays linear. A later read in another branch keeps the earlier ones copies.
    static void finish_binding(FnScope::Binding& b) {
        for (LocalNode* read : b.last_reads) read->move_out = true;
        b = FnScope::Binding{};
    }
    void note_read(LocalNode& read) {
        FnScope::Binding& b = scope_->bindings[read.slot];
        b.last_reads.clear();  // this read follows them
        if (b.movable && repeat_depth_ == b.depth) b.last_reads.push_back(&read);
        note_collected(scope_, read.slot);
        if (branches_apart_) scope_->read_log.push_back(read.slot);
    }

    // Slots of `scope` read or captured while a loop's targets are analysed (analyze_loop): each
    // slot once, in the innermost collector of that scope only; a finished collector hands its
    // slots on to the next one out (end_collecting), so nested loops in defaults cost no more
    // memory than the slots they read (a review, 2026-12-07: a copy per read per enclosing loop
    // took 545 MB under a 64 MiB limit).
    struct Collector {
        FnScope* scope;
        uint64_t id;
        std::vector<uint32_t> slots;
    };
    void note_collected(FnScope* scope, uint32_t slot) {
        for (auto c = collectors_.rbegin(); c != collectors_.rend(); ++c) {
            if (c->scope != scope) continue;
            FnScope::Binding& b = scope->bindings[slot];
            if (b.collected_by != c->id) {
                b.collected_by = c->id;
                c->slots.push_back(slot);
            }
            return;
        }
    }
    void begin_collecting() { collectors_.push_back({scope_, ++collector_ids_, {}}); }
    std::vector<uint32_t> end_collecting() {
        Collector done = std::move(collectors_.back());
        collectors_.pop_back();
        for (uint32_t slot : done.slots) note_collected(done.scope, slot);
        return std::move(done.slots);
    }

    // An if's else branch never runs after its then branch: the then branch's last reads are set
    // aside while the else branch is analysed (which still follows every read before the if),
    // then put back. The work is bounded: past kMaxBranchWork, branches are analysed as if one
    // followed the other, which moves less but never wrongly.
    struct SetAside {
        std::vector<std::pair<uint32_t, std::vector<LocalNode*>>> reads;
        size_t log_mark = 0;
    };
    SetAside set_aside_branch(size_t log_mark) {
        SetAside out{{}, log_mark};
        auto& log = scope_->read_log;
        if (!count_branch_work(log.size() - log_mark)) return out;
        for (size_t i = log_mark; i < log.size(); ++i) {
            auto& reads = scope_->bindings[log[i]].last_reads;
            if (!reads.empty()) out.reads.emplace_back(log[i], std::move(reads));
            reads.clear();
        }
        return out;
    }
    // False once the budget is spent: the logs are dropped and no longer kept.
    bool count_branch_work(size_t entries) {
        if (!branches_apart_) return false;
        branch_work_ += entries;
        if (branch_work_ <= kMaxBranchWork) return true;
        branches_apart_ = false;
        for (FnScope* s = scope_; s; s = s->parent) s->read_log = {};
        return false;
    }
    void put_back_branch(SetAside aside) {
        for (auto& [slot, reads] : aside.reads) {
            auto& now = scope_->bindings[slot].last_reads;
            now.insert(now.end(), reads.begin(), reads.end());
        }
        // Each slot once: an enclosing if reads this stretch of the log again.
        auto& log = scope_->read_log;
        if (!count_branch_work(log.size() - aside.log_mark)) return;
        std::vector<uint32_t> seen(log.begin() + static_cast<std::ptrdiff_t>(aside.log_mark), log.end());
        std::sort(seen.begin(), seen.end());
        seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
        log.resize(aside.log_mark);
        log.insert(log.end(), seen.begin(), seen.end());
    }
    static void finish_bindings(FnScope& scope) {
        for (auto& b : scope.bindings) finish_binding(b);
    }

    // A binding target for a pattern form: plain symbols (maybe annotated in place, `x:int`)
    // bind straight into their slot. `type` is an annotation written separately.
    Expected<void, Error> make_target(const Value& pat, std::unique_ptr<TypeSpec> type, Target& t,
                                      std::vector<std::pair<std::string, uint32_t>>& names) {
        t.raw_slot = scope_->alloc();
        t.type = std::move(type);
        t.pos = pos_of(pat);
        if (pat.is(Type::Symbol)) {
            Value name;
            std::unique_ptr<TypeSpec> attached;
            RTFS_TRY(size_t used, read_name(std::span<const Value>(&pat, 1), 0, &name, &attached));
            (void)used;
            if (name.str() == "&") return syntax(pat, "misplaced &");
            if (attached) t.type = std::move(attached);
            t.name = name.str();
            charge_name(2 * t.name.size());  // the target's and the names list's
            if (t.name != "_") names.emplace_back(t.name, t.raw_slot);
            return Ok{};
        }
        t.name = print(pat);
        charge_name(t.name.size());
        t.pattern = std::make_unique<Pattern>();
        return parse_destructure(pat, *t.pattern, names);
    }

    // ---- let / loop -------------------------------------------------------------------------

    struct BindingForm {
        Value pattern;
        std::unique_ptr<TypeSpec> type;
        Value init;
    };

    Result<std::vector<BindingForm>> parse_bindings(const Value& form, const Value& vec,
                                                    const char* what) {
        if (!vec.is(Type::Vector)) return syntax(form, std::string(what) + " needs a binding vector");
        const auto& xs = vec.items();
        std::vector<BindingForm> out;
        size_t i = 0;
        while (i < xs.size()) {
            BindingForm b;
            // A separate annotation only when another form (the value) follows it.
            RTFS_TRY(size_t used, read_binding_at(xs, i, false, 1, &b.pattern, &b.type));
            i += used;
            if (i >= xs.size())
                return syntax(vec, std::string(what) + " bindings need a value for " +
                                       print(b.pattern));
            b.init = xs[i++];
            out.push_back(std::move(b));
        }
        return out;
    }

    static bool is_fn_form(const Value& v) {
        return v.is(Type::List) && !v.items().empty() &&
               (is_symbol(v.items()[0], "fn") || is_symbol(v.items()[0], "fn*"));
    }

    Result<NodeP> analyze_let(const Value& form, std::span<const Value> items, bool tail) {
        if (items.size() < 2) return syntax(form, "let needs a binding vector");
        RTFS_TRY(auto bindings, parse_bindings(form, items[1], "let"));
        auto n = make<LetNode>(form);
        size_t saved_locals = scope_->locals.size();
        uint32_t saved_slot = scope_->next_slot;
        ++lexical_depth_;

        // letrec: plain-symbol bindings of fn forms are visible to every fn init of this let,
        // and to what follows their own binding; an init that is not a fn runs before the
        // functions bound after it exist, so it sees what their names meant before the let (a
        // sequential let's reading), never their empty slots: `(let [y (inc 1) inc (fn ...)] y)`
        // called nil (red team, 2026-12-07).
        std::set<std::string> bound_before;
        std::vector<int> predeclared(bindings.size(), -1);
        std::vector<size_t> declared_at(bindings.size(), SIZE_MAX);  // its entry in scope_->locals
        n->targets.resize(bindings.size());
        for (size_t i = 0; i < bindings.size(); ++i) {
            const Value& p = bindings[i].pattern;
            if (p.is(Type::Symbol) && is_fn_form(bindings[i].init) && !bound_before.count(p.str())) {
                uint32_t slot = scope_->alloc();
                predeclared[i] = static_cast<int>(slot);
                n->targets[i].raw_slot = slot;
                n->targets[i].name = p.str();
                charge_name(p.str().size());
                declared_at[i] = scope_->locals.size();
                add_name(p.str(), slot, repeat_depth_, /*movable=*/false);
            }
            if (p.is(Type::Symbol)) bound_before.insert(p.str());
        }
        // Hides (then shows again) the names of the functions bound after binding i: an empty
        // name matches no symbol, so lookups go on to outer bindings and globals.
        std::vector<std::string> hidden;
        auto hide_later_functions = [&](size_t i) {
            for (size_t j = i + 1; j < bindings.size(); ++j)
                if (declared_at[j] != SIZE_MAX) hidden.push_back(std::exchange(scope_->locals[declared_at[j]].first, {}));
        };
        auto show_later_functions = [&](size_t i) {
            for (size_t j = bindings.size(); j-- > i + 1;)
                if (declared_at[j] != SIZE_MAX) {
                    scope_->locals[declared_at[j]].first = std::move(hidden.back());
                    hidden.pop_back();
                }
        };
        std::vector<uint32_t> predeclared_slots;
        for (int s : predeclared)
            if (s >= 0) predeclared_slots.push_back(static_cast<uint32_t>(s));

        for (size_t i = 0; i < bindings.size(); ++i) {
            auto& b = bindings[i];
            NodeP init;
            if (predeclared[i] >= 0) {
                RTFS_TRY(init, analyze_fn(b.init, b.init.items(), 1, b.pattern.str()));
                auto* fn = dynamic_cast<FnNode*>(init.get());
                for (size_t c = 0; fn && c < fn->captures.size(); ++c) {
                    const auto& src = fn->captures[c];
                    if (src.from == CaptureSource::From::Local &&
                        std::find(predeclared_slots.begin(), predeclared_slots.end(), src.index) !=
                            predeclared_slots.end()) {
                        const auto target = std::find(predeclared.begin(), predeclared.end(), static_cast<int>(src.index));
                        const auto bound_at = static_cast<uint32_t>(target - predeclared.begin());
                        n->fixups.push_back(Fixup{static_cast<uint32_t>(predeclared[i]), static_cast<uint32_t>(c),
                                                  src.index, std::max(static_cast<uint32_t>(i), bound_at)});
                    }
                }
                n->targets[i].type = std::move(b.type);
                // Visible from here on as this function, even where an earlier destructuring
                // bound the same name after it was predeclared ((let [[a inc] [1 2] inc (fn
                // ...)] (inc 0)) called the integer).
                scope_->locals.emplace_back(b.pattern.str(), static_cast<uint32_t>(predeclared[i]));
            } else {
                hide_later_functions(i);
                auto analyzed = analyze(b.init, false);
                std::vector<std::pair<std::string, uint32_t>> names;
                auto target = analyzed ? make_target(b.pattern, std::move(b.type), n->targets[i], names)
                                       : Expected<void, Error>{};
                show_later_functions(i);
                if (!analyzed) return unexpected(std::move(analyzed).error());
                RTFS_CHECK(target);
                init = std::move(*analyzed);
                add_names(names);
            }
            n->inits.push_back(std::move(init));
        }
        std::stable_sort(n->fixups.begin(), n->fixups.end(),
                         [](const Fixup& a, const Fixup& b) { return a.ready_after < b.ready_after; });
        RTFS_TRY(n->body, analyze_body(form, items, 2, tail));
        --lexical_depth_;
        scope_->locals.resize(saved_locals);
        scope_->next_slot = saved_slot;
        return NodeP(std::move(n));
    }

    Result<NodeP> analyze_loop(const Value& form, std::span<const Value> items, bool tail) {
        if (items.size() < 2) return syntax(form, "loop needs a binding vector");
        RTFS_TRY(auto bindings, parse_bindings(form, items[1], "loop"));
        auto n = make<LoopNode>(form);
        size_t saved_locals = scope_->locals.size();
        uint32_t saved_slot = scope_->next_slot;
        ++lexical_depth_;
        n->targets.resize(bindings.size());
        std::vector<uint32_t> default_reads;
        for (size_t i = 0; i < bindings.size(); ++i) {
            RTFS_TRY(NodeP init, analyze(bindings[i].init, false));
            std::vector<std::pair<std::string, uint32_t>> names;
            // Inside the repetition: each recur binds the targets again (their :or defaults too).
            ++repeat_depth_;
            begin_collecting();
            auto target = make_target(bindings[i].pattern, std::move(bindings[i].type),
                                      n->targets[i], names);
            for (uint32_t slot : end_collecting()) default_reads.push_back(slot);
            add_names(names);
            --repeat_depth_;
            RTFS_CHECK(target);
            n->inits.push_back(std::move(init));
        }
        // Each recur runs the targets' :or defaults again, after every init: what they read or
        // capture is read after each init's read (red team, 2026-12-07: `(loop [{:keys [a] :or
        // {a x}} {} n (count x)] ...)` moved x out in the second init).
        for (uint32_t slot : default_reads) scope_->bindings[slot].last_reads.clear();
        const std::vector<Target>* saved_recur = recur_;
        const bool saved_frame_tail = frame_tail_ok_;
        recur_ = &n->targets;
        frame_tail_ok_ = frame_tail_ok_ && tail;
        ++repeat_depth_;
        auto body = analyze_body(form, items, 2, true);
        --repeat_depth_;
        recur_ = saved_recur;
        frame_tail_ok_ = saved_frame_tail;
        if (!body) return unexpected(std::move(body).error());
        n->body = std::move(*body);
        --lexical_depth_;
        scope_->locals.resize(saved_locals);
        scope_->next_slot = saved_slot;
        return NodeP(std::move(n));
    }

    Result<NodeP> analyze_recur(const Value& form, std::span<const Value> items, bool tail) {
        if (!recur_) return syntax(form, "recur outside of loop or fn");
        if (!tail) return syntax(form, "recur must be in tail position");
        if (items.size() - 1 != recur_->size())
            return syntax(form, "recur expects " + std::to_string(recur_->size()) +
                                    " arguments, got " + std::to_string(items.size() - 1));
        auto n = make<RecurNode>(form);
        n->targets = recur_;
        const std::vector<uint32_t> uses_before = scope_->uses;
        for (size_t i = 1; i < items.size(); ++i) {
            RTFS_TRY(NodeP a, analyze(items[i], false));
            n->args.push_back(std::move(a));
        }
        // recur rebinds its targets: their old values may be moved into the new ones.
        mark_last_uses(n->args, uses_before, recur_);
        return NodeP(std::move(n));
    }

    // ---- functions --------------------------------------------------------------------------

    // (fn name? [params] [:ret] body+); items[from] is the optional name or the params.
    Result<NodeP> analyze_fn(const Value& form, std::span<const Value> items, size_t from,
                             std::string name) {
        size_t i = from;
        if (i < items.size() && items[i].is(Type::Symbol)) name = items[i++].str();
        if (i < items.size() && items[i].is(Type::String) && i + 1 < items.size() &&
            items[i + 1].is(Type::Vector))
            ++i;  // docstring
        if (i >= items.size() || !items[i].is(Type::Vector))
            return syntax(form, "fn needs a parameter vector");
        const Value& params = items[i++];

        auto n = make<FnNode>(form);
        n->name = name;
        n->owner = unit_;
        FnScope scope;
        scope.parent = scope_;
        scope.self_name = name;
        FnScope* saved_scope = scope_;
        const std::vector<Target>* saved_recur = recur_;
        const bool saved_frame_tail = frame_tail_ok_;
        scope_ = &scope;
        frame_tail_ok_ = true;  // a new frame
        ++lexical_depth_;
        auto restore = [&] {
            scope_ = saved_scope;
            recur_ = saved_recur;
            frame_tail_ok_ = saved_frame_tail;
            --lexical_depth_;
        };

        // Positional parameters take slots 0..n-1 (the caller leaves arguments there).
        const auto& ps = params.items();
        std::vector<Value> pforms;
        std::vector<std::unique_ptr<TypeSpec>> ptypes;
        bool rest_read = false;
        for (size_t k = 0; k < ps.size();) {
            if (is_symbol(ps[k], "&")) {
                if (n->variadic || k + 1 >= ps.size()) {
                    restore();
                    return syntax(params, "& must be followed by exactly one rest parameter");
                }
                n->variadic = true;
                ++k;
                continue;
            }
            if (rest_read) {
                restore();
                return syntax(params, "only one parameter may follow &");
            }
            Value pf;
            std::unique_ptr<TypeSpec> t;
            auto used = read_binding_at(ps, k, true, 0, &pf, &t);
            if (!used) {
                restore();
                return unexpected(std::move(used).error());
            }
            pforms.push_back(pf);
            ptypes.push_back(std::move(t));
            rest_read = n->variadic;
            k += *used;
        }
        n->params.resize(pforms.size());
        for (size_t k = 0; k < pforms.size(); ++k) n->params[k].raw_slot = scope.alloc();
        // Each parameter's names are in scope for the next ones' :or defaults, as in a let.
        for (size_t k = 0; k < pforms.size(); ++k) {
            std::vector<std::pair<std::string, uint32_t>> names;
            Target& t = n->params[k];
            t.type = std::move(ptypes[k]);
            t.rest = n->variadic && k + 1 == pforms.size();
            const Value& pf = pforms[k];
            if (pf.is(Type::Symbol)) {
                t.name = pf.str();
                if (pf.str() != "_") names.emplace_back(pf.str(), t.raw_slot);
            } else {
                t.name = print(pf);
                t.pattern = std::make_unique<Pattern>();
                auto r = parse_destructure(pf, *t.pattern, names);
                if (!r) {
                    restore();
                    return unexpected(std::move(r).error());
                }
            }
            add_names(names);
        }

        Result<size_t> read = read_annotation(items, i, false, &n->return_type);
        auto ret = placed(form, std::move(read), Value(), n->return_type.get());
        if (!ret) {
            restore();
            return unexpected(std::move(ret).error());
        }
        if (*ret > 0 && i + *ret < items.size()) {
            i += *ret;
        } else {
            n->return_type.reset();
        }
        recur_ = &n->params;
        auto body = analyze_body(form, items, i, true);
        if (!body) {
            restore();
            return unexpected(std::move(body).error());
        }
        n->body = std::move(*body);
        finish_bindings(scope);
        n->nslots = scope.max_slots;
        for (auto& c : scope.captures) n->captures.push_back(c.source);
        restore();
        return NodeP(std::move(n));
    }

    Result<NodeP> analyze_def(const Value& form, std::span<const Value> items) {
        if (items.size() < 3 || !items[1].is(Type::Symbol))
            return syntax(form, "def needs a name and a value");
        Value name;
        std::unique_ptr<TypeSpec> type;  // (def y:int 100), (def y :int 100), (def y 100)
        RTFS_TRY(size_t used, read_binding_at(items, 1, true, 1, &name, &type));
        const size_t i = 1 + used;
        if (i + 1 != items.size()) return syntax(form, "def takes a name, an optional type and a value");
        return make_def(form, name.str(), items[i], std::move(type), false);
    }

    Result<NodeP> analyze_defn(const Value& form, std::span<const Value> items) {
        if (items.size() < 3 || !items[1].is(Type::Symbol))
            return syntax(form, "defn needs a name, parameters and a body");
        return make_def(form, items[1].str(), form, nullptr, true);
    }

    Result<NodeP> make_def(const Value& form, const std::string& name, const Value& init_form,
                           std::unique_ptr<TypeSpec> type, bool is_defn) {
        auto n = make<DefNode>(form);
        n->type = std::move(type);
        if (lexical_depth_ == 0) {
            n->cell = st_.global(name);
            if (is_defn) {
                RTFS_TRY(n->init, analyze_fn(form, init_form.items(), 2, name));
            } else {
                RTFS_TRY(n->init, analyze(init_form, false));
            }
            return NodeP(std::move(n));
        }
        // Inside a body: a local binding visible to the rest of the body (and to itself).
        n->local = std::make_unique<Target>();
        n->local->raw_slot = scope_->alloc();
        n->local->name = name;
        if (is_defn) {
            RTFS_TRY(n->init, analyze_fn(form, init_form.items(), 2, name));
        } else {
            RTFS_TRY(n->init, analyze(init_form, false));
        }
        add_name(name, n->local->raw_slot, repeat_depth_);
        return NodeP(std::move(n));
    }

    Result<NodeP> analyze_defmacro(const Value& form, std::span<const Value> items) {
        if (lexical_depth_ != 0) return syntax(form, "defmacro is only allowed at top level");
        if (items.size() < 4 || !items[1].is(Type::Symbol))
            return syntax(form, "defmacro needs a name, parameters and a body");
        RTFS_TRY(NodeP fn, analyze_fn(form, items, 2, items[1].str()));
        RTFS_TRY(Value closure, fn->eval(st_));
        if (auto stopped = take_walk_interruption()) return unexpected(std::move(*stopped));  // as DefNode
        st_.macros[items[1].str()] = closure;
        unit_->extra.push_back(std::move(fn));  // the expander's code lives as long as the unit
        return constant(make_symbol(items[1].str()), form);
    }

    Result<NodeP> analyze_macro_call(const Value& form, const Value& macro, bool tail) {
        if (++expansions_ > kMaxMacroExpansions)
            return syntax(form, "macro expansion too deep (more than " +
                                    std::to_string(kMaxMacroExpansions) + " expansions)");
        const auto& items = form.items();
        std::vector<Value> args(items.begin() + 1, items.end());
        auto expanded = st_.owner->apply(macro, std::span<Value>(args));
        if (!expanded) {
            Error e = std::move(expanded).error();
            SourcePos p = pos_of(form);
            e.locate(p.line, p.column);
            return unexpected(std::move(e));
        }
        keep_.push_back(*expanded);
        return analyze(*expanded, tail);
    }

    Result<std::unique_ptr<QuasiNode>> analyze_quasi(const Value& form) {
        return nested(form, [&] { return analyze_quasi_inner(form); });
    }
    Result<std::unique_ptr<QuasiNode>> analyze_quasi_inner(const Value& form) {
        auto q = make<QuasiNode>(form);
        if (form.is(Type::List) && !form.items().empty() && form.items()[0].is(Type::Symbol)) {
            const std::string& h = form.items()[0].str();
            if (h == "unquote" || h == "unquote-splicing") {
                if (form.items().size() != 2) return syntax(form, h + " takes one form");
                q->kind = h == "unquote" ? QuasiNode::Kind::Unquote : QuasiNode::Kind::Splice;
                RTFS_TRY(q->expr, analyze(form.items()[1], false));
                return q;
            }
        }
        if (form.is(Type::List) || form.is(Type::Vector)) {
            q->kind = form.is(Type::List) ? QuasiNode::Kind::List : QuasiNode::Kind::Vector;
            for (const auto& x : form.items()) {
                RTFS_TRY(auto part, analyze_quasi(x));
                q->parts.push_back(std::move(part));
            }
            return q;
        }
        if (form.is(Type::Map)) {
            q->kind = QuasiNode::Kind::Map;
            for (const auto& [k, v] : form.map().entries()) {
                RTFS_TRY(auto kp, analyze_quasi(k));
                RTFS_TRY(auto vp, analyze_quasi(v));
                q->parts.push_back(std::move(kp));
                q->parts.push_back(std::move(vp));
            }
            return q;
        }
        q->kind = QuasiNode::Kind::Const;
        q->constant = form;
        return q;
    }

    // ---- try / match / iteration ------------------------------------------------------------

    Result<NodeP> analyze_try(const Value& form, std::span<const Value> items) {
        auto n = make<TryNode>(form);
        size_t i = 1;
        std::vector<Value> body{make_symbol("do")};
        for (; i < items.size(); ++i) {
            const Value& x = items[i];
            if (x.is(Type::List) && !x.items().empty() &&
                (is_symbol(x.items()[0], "catch") || is_symbol(x.items()[0], "finally")))
                break;
            body.push_back(x);
        }
        RTFS_TRY(n->body, analyze_body(form, body, 1, false));
        for (; i < items.size(); ++i) {
            const Value& x = items[i];
            if (!x.is(Type::List) || x.items().empty())
                return syntax(x, "only catch and finally clauses may follow the try body");
            const auto& c = x.items();
            if (is_symbol(c[0], "finally")) {
                if (i + 1 != items.size()) return syntax(x, "finally must be the last clause");
                ++lexical_depth_;
                RTFS_TRY(n->finally, analyze_body(x, c, 1, false));
                --lexical_depth_;
                break;
            }
            if (!is_symbol(c[0], "catch")) return syntax(x, "expected catch or finally");
            CatchClause cc;
            size_t name_at = 1;
            // (catch e body+) or (catch Pattern e body+)
            if (c.size() >= 4 && (c[1].is(Type::Symbol) || c[1].is(Type::Keyword)) &&
                c[2].is(Type::Symbol)) {
                ErrorKind k;
                if (error_kind_from_string(c[1].str(), &k)) {
                    cc.any = false;
                    cc.kind = k;
                }
                name_at = 2;
            }
            if (c.size() < name_at + 2 || !c[name_at].is(Type::Symbol))
                return syntax(x, "catch needs a name and a body");
            size_t saved_locals = scope_->locals.size();
            uint32_t saved_slot = scope_->next_slot;
            ++lexical_depth_;
            cc.slot = scope_->alloc();
            add_name(c[name_at].str(), cc.slot, repeat_depth_);
            auto b = analyze_body(x, c, name_at + 1, false);
            --lexical_depth_;
            scope_->locals.resize(saved_locals);
            scope_->next_slot = saved_slot;
            if (!b) return unexpected(std::move(b).error());
            cc.body = std::move(*b);
            n->catches.push_back(std::move(cc));
        }
        return NodeP(std::move(n));
    }

    Result<NodeP> analyze_match(const Value& form, std::span<const Value> items, bool tail) {
        if (items.size() < 2) return syntax(form, "match needs an expression");
        auto n = make<MatchNode>(form);
        RTFS_TRY(n->subject, analyze(items[1], false));
        size_t i = 2;
        while (i < items.size()) {
            MatchClause c;
            size_t saved_locals = scope_->locals.size();
            uint32_t saved_slot = scope_->next_slot;
            ++lexical_depth_;
            std::vector<std::pair<std::string, uint32_t>> names;
            RTFS_CHECK(parse_match_pattern(items[i], c.pattern, names));
            add_names(names);
            ++i;
            if (i < items.size() && is_symbol(items[i], "when")) {
                if (i + 1 >= items.size()) return syntax(form, "when needs a guard expression");
                RTFS_TRY(c.guard, analyze(items[i + 1], false));
                i += 2;
            }
            if (i >= items.size()) return syntax(form, "match clause without a body");
            RTFS_TRY(c.body, analyze(items[i], tail));
            ++i;
            --lexical_depth_;
            scope_->locals.resize(saved_locals);
            // Slots of a clause stay reserved so that a guard cannot clobber another's.
            (void)saved_slot;
            n->clauses.push_back(std::move(c));
        }
        return NodeP(std::move(n));
    }

    // (for [...] body), or with collect = false (doseq) the same iteration run for its effects:
    // nothing is collected and the result is nil.
    Result<NodeP> analyze_for(const Value& form, std::span<const Value> items,
                              bool collect = true) {
        const std::string what = collect ? "for" : "doseq";
        if (items.size() < 3 || !items[1].is(Type::Vector))
            return syntax(form, what + " needs a binding vector and a body");
        const auto& bs = items[1].items();
        auto n = make<ForNode>(form);
        n->collect = collect;
        size_t saved_locals = scope_->locals.size();
        uint32_t saved_slot = scope_->next_slot;
        ++lexical_depth_;
        uint32_t repeats = 0;
        for (size_t i = 0; i < bs.size();) {
            ForClause c;
            if (bs[i].is(Type::Keyword)) {
                const std::string& k = bs[i].str();
                if (i + 1 >= bs.size()) return syntax(form, ":" + k + " needs an expression");
                if (k == "when" || k == "while") {
                    c.kind = k == "when" ? ForClause::Kind::When : ForClause::Kind::While;
                    RTFS_TRY(c.expr, analyze(bs[i + 1], false));
                } else if (k == "let") {
                    c.kind = ForClause::Kind::Let;
                    RTFS_TRY(auto bindings, parse_bindings(form, bs[i + 1],
                                                           collect ? "for :let" : "doseq :let"));
                    c.let = make<LetNode>(form);
                    c.let->targets.resize(bindings.size());
                    for (size_t j = 0; j < bindings.size(); ++j) {
                        RTFS_TRY(NodeP init, analyze(bindings[j].init, false));
                        std::vector<std::pair<std::string, uint32_t>> names;
                        RTFS_CHECK(make_target(bindings[j].pattern, std::move(bindings[j].type),
                                               c.let->targets[j], names));
                        add_names(names);
                        c.let->inits.push_back(std::move(init));
                    }
                } else {
                    return syntax(form, "unknown " + what + " modifier :" + k);
                }
                i += 2;
                n->clauses.push_back(std::move(c));
                continue;
            }
            if (i + 1 >= bs.size()) return syntax(form, what + " bindings need a collection");
            c.kind = ForClause::Kind::Each;
            RTFS_TRY(c.expr, analyze(bs[i + 1], false));
            // What follows runs once for each element.
            ++repeat_depth_;
            ++repeats;
            std::vector<std::pair<std::string, uint32_t>> names;
            RTFS_CHECK(make_target(bs[i], nullptr, c.target, names));
            add_names(names);
            i += 2;
            n->clauses.push_back(std::move(c));
        }
        RTFS_TRY(n->body, analyze_body(form, items, 2, false));
        repeat_depth_ -= repeats;
        --lexical_depth_;
        scope_->locals.resize(saved_locals);
        scope_->next_slot = saved_slot;
        return NodeP(std::move(n));
    }

    // (doseq [x xs] body): the iteration of (for [x xs] body), collecting nothing; nil.
    Result<NodeP> analyze_doseq(const Value& form, std::span<const Value> items) {
        return analyze_for(form, items, false);
    }

    Result<NodeP> analyze_dotimes(const Value& form, std::span<const Value> items) {
        if (items.size() < 3 || !items[1].is(Type::Vector) || items[1].items().size() != 2 ||
            !items[1].items()[0].is(Type::Symbol))
            return syntax(form, "dotimes needs [name count] and a body");
        auto n = make<DotimesNode>(form);
        RTFS_TRY(n->count, analyze(items[1].items()[1], false));
        size_t saved_locals = scope_->locals.size();
        uint32_t saved_slot = scope_->next_slot;
        ++lexical_depth_;
        n->slot = scope_->alloc();
        ++repeat_depth_;
        add_name(items[1].items()[0].str(), n->slot, repeat_depth_);
        RTFS_TRY(n->body, analyze_body(form, items, 2, false));
        --repeat_depth_;
        --lexical_depth_;
        scope_->locals.resize(saved_locals);
        scope_->next_slot = saved_slot;
        return NodeP(std::move(n));
    }

    Result<NodeP> analyze_call_capability(const Value& form, std::span<const Value> items) {
        if (items.size() < 2) return syntax(form, "call needs a capability id");
        auto n = make<CapabilityNode>(form);
        RTFS_TRY(n->id, analyze(items[1], false));
        for (size_t i = 2; i < items.size(); ++i) {
            RTFS_TRY(NodeP a, analyze(items[i], false));
            n->args.push_back(std::move(a));
        }
        return NodeP(std::move(n));
    }

    Interpreter::State& st_;
    const SourcePositions* positions_;
    std::shared_ptr<Unit> unit_;
    const char* stack_floor_;          // deeper than this: "nested too deeply", not a crash
    SourcePositions extra_positions_;  // for forms the analyser builds (desugaring)
    std::vector<Value> keep_;          // keeps those forms alive while analysing
    FnScope root_;
    FnScope* scope_ = &root_;
    const std::vector<Target>* recur_ = nullptr;
    // False inside the body of a loop that is not itself in tail position of the function:
    // there, "tail" (for recur) does not mean the frame dies afterwards.
    bool frame_tail_ok_ = true;
    int lexical_depth_ = 0;
    // How many loops, `for`s and `dotimes` enclose the form being analysed: code inside them runs
    // more than once for a binding made outside them.
    uint32_t repeat_depth_ = 0;
    uint64_t branch_work_ = 0;  // log entries the if branches' analysis went through
    std::vector<Collector> collectors_;  // note_collected
    uint64_t collector_ids_ = 0;
    bool branches_apart_ = true;  // until branch_work_ passes kMaxBranchWork
    int depth_ = 0;
    int expansions_ = 0;
    int gensym_ = 0;
    SourcePos current_pos_;
};

}  // namespace

Result<std::shared_ptr<Unit>> analyze_toplevel(Interpreter::State& st, const Value& form,
                                               const SourcePositions* positions) {
    auto unit = std::make_shared<Unit>();
    unit->counted_in = st.analyzed_forms;  // its forms given back when it dies, now if it failed
    Analyzer a(st, positions, unit);
    auto root = a.toplevel(form);
    if (!root) return unexpected(std::move(root).error());
    unit->root = std::move(*root);
    return unit;
}

}  // namespace rtfs
