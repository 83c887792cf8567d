// The public Interpreter API: read, analyse and evaluate top-level forms one at a time.
#include "rtfs/interpreter.hpp"

#include "eval/analyzer.hpp"
#include "eval/state.hpp"
#include "native_stack.hpp"

namespace rtfs {

namespace {

// The interpreter evaluating on this thread, for poll_limits/charge_alloc.
Interpreter::State*& current_state() {
    static thread_local Interpreter::State* st = nullptr;
    return st;
}

// Makes this interpreter's heap accounting current on this thread while it runs.
struct HeapScope {
    HeapStats* saved;
    explicit HeapScope(HeapStats* h) : saved(current_heap_stats()) { current_heap_stats() = h; }
    ~HeapScope() { current_heap_stats() = saved; }
};

// Makes this interpreter the one poll_limits/charge_alloc check, while it evaluates.
struct StateScope {
    Interpreter::State* saved;
    explicit StateScope(Interpreter::State* st) : saved(current_state()) { current_state() = st; }
    ~StateScope() { current_state() = saved; }
};

}  // namespace

Interpreter::Interpreter(EvalOptions options) : st_(std::make_unique<State>()) {
    st_->owner = this;
    st_->opts = std::move(options);
    st_->stack.reserve(st_->opts.value_stack_slots);
}

Interpreter::~Interpreter() {
    HeapScope scope(&st_->heap);
    for (auto& f : st_->letrec_closures)
        for (auto& c : const_cast<FnObj&>(f.fn()).captures) c = Value();
    st_->letrec_closures.clear();
    st_->stack.clear();
    st_->macros.clear();
    st_->function_makers.clear();
    st_->globals.clear();
    st_->global_cells.clear();
}

EvalOptions& Interpreter::options() { return st_->opts; }
const HeapStats& Interpreter::heap_stats() const { return st_->heap; }
uint64_t Interpreter::steps() const { return st_->steps; }

void Interpreter::define(std::string_view name, Value v) {
    GlobalCell* c = st_->global(std::string(name));
    c->value = std::move(v);
    c->defined = true;
}

std::optional<Value> Interpreter::lookup(std::string_view name) const {
    GlobalCell* c = st_->find_global(std::string(name));
    if (!c || !c->defined) return std::nullopt;
    return c->value;
}

static Result<Value> eval_one(Interpreter::State& st, const Value& form,
                              const SourcePositions* positions) {
    RTFS_TRY(auto unit, analyze_toplevel(st, form, positions));
    RTFS_CHECK(st.reserve(unit->nslots));
    const size_t base = st.base;
    const FnObj* self = st.self;
    const size_t top = st.stack.size();
    st.stack.resize(top + unit->nslots);
    st.base = top;
    st.self = nullptr;
    auto r = unit->root->eval(st);
    st.stack.resize(top);
    st.base = base;
    st.self = self;
    return r;
}

// Sets up per-evaluation state (heap accounting, native stack floor) for an outermost entry.
template <class F>
static Result<Value> enter(Interpreter::State& st, F&& body) {
    HeapScope scope(&st.heap);
    StateScope current(&st);
    const bool outermost = st.native_stack_floor == nullptr;
    if (outermost) {
        st.native_stack_floor = detail::stack_floor_here(st.opts.native_stack_bytes);
        (void)take_walk_interruption();  // left by a walk outside any evaluation: not ours
    }
    Result<Value> r = body();
    if (outermost) {
        st.native_stack_floor = nullptr;
        // A walk stopped where the evaluator did not look again (a set called as a function):
        // its answer may be wrong, so the evaluation ends with its error.
        if (auto stopped = take_walk_interruption(); stopped && r) r = unexpected(std::move(*stopped));
    }
    return r;
}

Result<Value> Interpreter::eval(std::string_view source) {
    return enter(*st_, [&]() -> Result<Value> {
        SourcePositions positions;
        // The reader charged each entry to this heap: given back with the map.
        struct Refund {
            HeapStats& heap;
            const SourcePositions& positions;
            ~Refund() { heap.live_bytes -= static_cast<int64_t>(positions.size()) * kSourcePositionBytes; }
        } refund{st_->heap, positions};
        RTFS_TRY(auto forms, read_all(source, &positions));
        // The reader polls every 4096 forms: a program of a few big forms is judged here.
        if (st_->opts.memory_limit_bytes > 0 && st_->heap.live_bytes > st_->opts.memory_limit_bytes)
            return unexpected(st_->memory_exceeded().error());
        Value last;
        for (const auto& f : forms) {
            RTFS_TRY(last, eval_one(*st_, f, &positions));
        }
        return last;
    });
}

Result<Value> Interpreter::eval_form(const Value& form) {
    return enter(*st_, [&]() { return eval_one(*st_, form, nullptr); });
}

Result<Value> Interpreter::call_capability(std::string_view id, std::span<Value> args) {
    if (!st_->opts.security.allows(id))
        return error(ErrorKind::SecurityViolation,
                     "Capability '" + std::string(id) + "' is not allowed in the " +
                         std::string(to_string(st_->opts.security.level)) + " runtime context");
    if (!st_->opts.host)
        return error(ErrorKind::CapabilityError,
                     "Capability '" + std::string(id) + "' has no host to run it");
    return st_->opts.host->call(id, args);
}

Expected<void, Error> poll_limits(uint64_t work) {
    static thread_local uint64_t since_check = 0;
    since_check += work;
    if (since_check < 4096) return Ok{};
    since_check = 0;
    Interpreter::State* st = current_state();
    if (!st) return Ok{};
    if (st->opts.memory_limit_bytes > 0 && st->heap.live_bytes > st->opts.memory_limit_bytes)
        return st->memory_exceeded();
    return st->slow_check();
}

Expected<void, Error> poll_walk(uint64_t work) {
    if (Interpreter::State* st = current_state()) st->steps += work;
    return poll_limits(work);
}

size_t alloc_room() {
    // Without a configured limit, still refuse absurd sizes rather than abort on bad_alloc.
    constexpr int64_t kHardCap = int64_t{1} << 30;
    const Interpreter::State* st = current_state();
    int64_t room = kHardCap;
    if (st && st->opts.memory_limit_bytes > 0)
        room = std::min(room, st->opts.memory_limit_bytes - st->heap.live_bytes);
    return room > 0 ? static_cast<size_t>(room) : 0;
}

Expected<void, Error> charge_alloc(int64_t bytes) {
    if (bytes < 0 || static_cast<uint64_t>(bytes) > alloc_room())
        return unexpected(Error(ErrorKind::ResourceLimit,
                                "Memory limit exceeded: " + std::to_string(bytes) +
                                    " more bytes of RTFS data do not fit"));
    return Ok{};
}

}  // namespace rtfs
