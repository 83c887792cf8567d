// The evaluator's runtime state: value stack, current frame, globals, limits.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "rtfs/function.hpp"
#include "rtfs/interpreter.hpp"

namespace rtfs {

struct GlobalCell {
    std::string name;
    Value value;
    bool defined = false;
};

struct Macro;

struct Interpreter::State {
    Interpreter* owner = nullptr;
    EvalOptions opts;

    // Locals and pending arguments of every active call. Capacity is reserved once and never
    // exceeded, so pointers into it stay valid while builtins run.
    std::vector<Value> stack;
    size_t base = 0;              // first slot of the current frame
    const FnObj* self = nullptr;  // the closure whose body is running (captures, self-calls)

    uint32_t depth = 0;
    uint64_t steps = 0;
    // The forms of the analysed code alive (each Unit gives its own back when it dies), with a
    // form per kBytesPerForm of the names copied into it (analyzer.cpp): that code is never
    // charged to the heap, and a budget per top-level form let 120 defs of macro-made
    // functions hold 3.7 GB under a 64 MiB limit (red team, 2026-12-07). Shared with the units,
    // which may outlive the interpreter.
    std::shared_ptr<uint64_t> analyzed_forms = std::make_shared<uint64_t>(0);
    const char* native_stack_floor = nullptr;  // below this address: RecursionLimit
    HeapStats heap;

    std::deque<GlobalCell> global_cells;
    std::unordered_map<std::string, GlobalCell*> globals;
    std::unordered_map<std::string, Value> macros;  // name -> closure of the expander
    // stdlib/function_builders.cpp: each builder's maker (comp, juxt, ...), analysed once and
    // applied by every call, so that the functions they return share one body.
    std::unordered_map<std::string, Value> function_makers;
    // Mutually recursive local functions reference each other: a reference cycle. They are
    // kept here; collect_letrec() frees the groups nothing else references any more (run as
    // the list doubles, so it stays within twice what is alive), and the interpreter clears
    // the captures of those left when it goes away, which frees them.
    std::vector<Value> letrec_closures;
    size_t letrec_collect_at = kLetrecCollectMin;
    static constexpr size_t kLetrecCollectMin = 256;
    void add_letrec(const Value& closure);
    void collect_letrec();

    GlobalCell* global(const std::string& name) {
        auto it = globals.find(name);
        if (it != globals.end()) return it->second;
        global_cells.push_back(GlobalCell{name, Value(), false});
        return globals[name] = &global_cells.back();
    }
    GlobalCell* find_global(const std::string& name) const {
        auto it = globals.find(name);
        return it == globals.end() ? nullptr : it->second;
    }

    Value& local(uint32_t slot) { return stack[base + slot]; }

    // Called on every closure call and loop iteration.
    Expected<void, Error> tick() {
        if (opts.memory_limit_bytes > 0 && heap.live_bytes > opts.memory_limit_bytes)
            return memory_exceeded();
        if ((++steps & 127) == 0) return slow_check();
        return Ok{};
    }
    Expected<void, Error> slow_check();
    Expected<void, Error> memory_exceeded() const;
    // Room for n more values on the stack, else RecursionLimit.
    Expected<void, Error> reserve(size_t n) const;

    // Invokes f with the n arguments at stack[top..top+n); pops them.
    Result<Value> invoke(const Value& f, size_t top, size_t n);
    Result<Value> call_closure(const FnObj& f, size_t top, size_t n);
};

}  // namespace rtfs
