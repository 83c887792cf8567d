// Running evaluation on a thread with a large stack. The evaluator measures the stack of the
// thread it runs on, so deep (10,000-level) RTFS recursion needs more than the usual 8 MiB.
// The stack is a virtual reservation: only the pages a program actually uses become memory.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

#include "rtfs/interpreter.hpp"
#include "rtfs/value.hpp"

namespace rtfs::host {

inline constexpr size_t kBigStackBytes = size_t{512} << 20;

// Runs fn on a new thread whose stack is `bytes` long and waits for it. A ResourceLimit error
// when the thread cannot be created (e.g. the address space limit is too small).
Expected<void, Error> run_with_stack(size_t bytes, std::function<void()> fn);

// interp.eval(source) on a kBigStackBytes thread.
Result<Value> eval_on_big_stack(Interpreter& interp, std::string_view source,
                                size_t stack_bytes = kBigStackBytes);

}  // namespace rtfs::host
