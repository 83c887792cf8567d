// Whole programs on arbitrary bytes, under a step budget and a memory limit: evaluation ends
// with a value or an error, never a crash, a hang or unbounded memory.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rtfs/interpreter.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view src(reinterpret_cast<const char*>(data), size);
    rtfs::Interpreter interp({.max_steps = 20000,
                              .max_depth = 2000,
                              .memory_limit_bytes = 64 << 20,
                              .value_stack_slots = 1 << 16});
    auto r = interp.eval(src);
    (void)r;
    return 0;
}
