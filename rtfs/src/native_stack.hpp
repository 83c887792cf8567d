// How much native (C++) stack a recursive pass may still use. The reader, the analyzer and the
// evaluator recurse over untrusted nesting; each stops cleanly at a floor computed here instead
// of trusting a fixed depth, because frame sizes vary by compiler and sanitizer.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rtfs::detail {

// Bytes the stack may still grow below `here` (the thread's real bounds minus a safety margin
// where the platform reports them, a conservative constant elsewhere, e.g. wasm32-wasi).
size_t usable_stack_below(uintptr_t here);

// The lowest address a recursive pass that starts in the caller's frame may reach: `budget`
// bytes below it, or (0) as far as usable_stack_below allows.
inline const char* stack_floor_here(size_t budget = 0) {
    char probe = 0;
    const auto here = reinterpret_cast<uintptr_t>(&probe);
    return reinterpret_cast<const char*>(here - (budget ? budget : usable_stack_below(here)));
}

// True when the caller's frame is below `floor`.
inline bool below_stack_floor(const char* floor) {
    char probe = 0;
    return reinterpret_cast<uintptr_t>(&probe) < reinterpret_cast<uintptr_t>(floor);
}

}  // namespace rtfs::detail
