// The interpreter: reads, analyses (symbols resolved to frame slots) and evaluates RTFS programs.
//
//   rtfs::Interpreter interp({.security = rtfs::RuntimeContext::full(), .host = &my_host});
//   auto r = interp.eval("(+ 1 2)");   // Result<Value>: a value or an Error
//
// One Interpreter runs on one thread at a time. Top-level def/defn persist across eval() calls
// (a REPL session). Evaluation can be stopped from outside through `cancel`, `deadline` or
// `max_steps`; it ends with an Interrupted error.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "rtfs/host.hpp"
#include "rtfs/security.hpp"
#include "rtfs/value.hpp"

namespace rtfs {

struct EvalOptions {
    RuntimeContext security = RuntimeContext::pure();
    Host* host = nullptr;                       // capability host; nullptr = none
    const std::atomic<bool>* cancel = nullptr;  // set to true from any thread to stop
    std::optional<std::chrono::steady_clock::time_point> deadline;
    uint64_t max_steps = 0;             // calls + loop iterations + walk steps (poll_walk); 0 = unlimited
    uint32_t max_depth = 100'000;       // nested calls
    size_t native_stack_bytes = 0;      // C++ stack the evaluator may use; 0 = detect
    int64_t memory_limit_bytes = 0;     // live RTFS heap; 0 = unlimited
    uint32_t value_stack_slots = 1u << 20;  // locals + arguments of all active calls
};

class Interpreter {
public:
    explicit Interpreter(EvalOptions options = {});
    ~Interpreter();
    Interpreter(const Interpreter&) = delete;
    Interpreter& operator=(const Interpreter&) = delete;

    // Reads and evaluates every form of source; the value of the last one (nil if none).
    Result<Value> eval(std::string_view source);
    Result<Value> eval_form(const Value& form);

    // Calls a function value (closure, builtin, keyword, map, ...). Used by higher-order builtins.
    // The arguments are consumed (moved from).
    Result<Value> apply(const Value& fn, std::span<Value> args);
    // Checks the runtime context, then hands the call to the host.
    Result<Value> call_capability(std::string_view capability_id, std::span<Value> args);
    // Interrupt/limit check for builtins that loop for long without calling back into RTFS.
    Expected<void, Error> check_limits();

    void define(std::string_view name, Value v);
    std::optional<Value> lookup(std::string_view name) const;

    EvalOptions& options();
    const HeapStats& heap_stats() const;
    uint64_t steps() const;

    struct State;
    State& state() { return *st_; }

private:
    std::unique_ptr<State> st_;
};

// Limit checks for C++ loops that have no Interpreter& at hand (element conversions, value
// comparisons, sorting). They apply to the interpreter evaluating on this thread, set for the
// duration of eval()/eval_form() the same way the heap accounting is; without one they are Ok.
//
// poll_limits: adds `work` (roughly, elements visited) to a per-thread counter and, every 4096
// units, checks the cancel flag, the deadline and the step budget (an Interrupted error), so a
// loop that never calls back into RTFS still ends at the time limit or on cancellation.
Expected<void, Error> poll_limits(uint64_t work = 1);
// poll_walk: poll_limits for the walks of equality, hashing and ordering, whose work also counts
// against max_steps (one step per pair of collections compared or collection hashed): a walk
// that is long for its input (pairs of large shared structures) ends a step-limited run with the
// step budget, not only at the deadline.
Expected<void, Error> poll_walk(uint64_t work = 1);
// Equality and hashing poll too but cannot return an error: the first poll that failed on this
// thread, once (the evaluator raises it around every builtin call and at its own checks).
std::optional<Error> take_walk_interruption();
// keep_building: poll_limits for C++ loops that cannot return an error (a map's or a set's
// constructor, equality's hash tables): false once a limit is reached, the failure kept for the
// evaluator like a walk's (what was built is never used).
bool keep_building(uint64_t work = 1);
// charge_alloc for the same loops: false, the ResourceLimit kept for the evaluator, when
// `bytes` more of RTFS data would not fit; the caller then builds nothing.
bool room_to_build(int64_t bytes);
// Memory a builtin or a builder holds outside RTFS values for a while (a hash table of what it
// has seen): in the heap's live total while it lives, so that the limit checks count it.
class ScopedHeapCharge {
  public:
    explicit ScopedHeapCharge(int64_t bytes = 0);
    ~ScopedHeapCharge();
    void add(int64_t bytes);  // the table grew
    ScopedHeapCharge(const ScopedHeapCharge&) = delete;
    ScopedHeapCharge& operator=(const ScopedHeapCharge&) = delete;

  private:
    HeapStats* heap_;
    int64_t bytes_;
};
// What a hash table costs a member (node and bucket), for ScopedHeapCharge and the maps' index.
inline constexpr int64_t kHashNodeBytes = 56;
// charge_alloc: before building `bytes` of new RTFS data, a ResourceLimit error if that would
// take the live heap past the memory limit (or past 1 GiB when no limit is set).
Expected<void, Error> charge_alloc(int64_t bytes);
// The bytes charge_alloc would still accept now: what the memory limit leaves, at most 1 GiB.
size_t alloc_room();

// The builtin named `name`, or nullptr.
const struct BuiltinDef* find_builtin(std::string_view name);
// Every builtin of the standard library, sorted by name.
std::span<const struct BuiltinDef> all_builtins();

}  // namespace rtfs
