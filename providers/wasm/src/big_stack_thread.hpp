// Runs a callable on a fresh thread with a large stack and waits for it: wabt's WAT parser and
// IR are recursive, and the caller's thread (a small pool thread, an ASan build) may lack room.
#pragma once

#include <cstddef>
#include <functional>

namespace microvm::wasm {

// False when the thread could not be created (fn did not run).
bool run_with_big_stack(const std::function<void()>& fn, size_t stack_bytes = 256u << 20);

}  // namespace microvm::wasm
