// The WASI preview1 host functions (import module "wasi_snapshot_preview1"), implemented by the
// project. Each returns a WASI errno; every guest pointer is bounds-checked (EFAULT otherwise).
#pragma once

#include <span>
#include <string_view>

#include "host_function.hpp"

namespace microvm::wasm {

inline constexpr std::string_view kWasiModule = "wasi_snapshot_preview1";

// Per-area tables (wasi_args_env.cpp, wasi_clock_proc.cpp, wasi_fd.cpp, wasi_path.cpp).
std::span<const HostFunction> wasi_args_env_functions();
std::span<const HostFunction> wasi_clock_proc_functions();
std::span<const HostFunction> wasi_fd_functions();
std::span<const HostFunction> wasi_path_functions();

// Any WASI function by name; nullptr when the engine does not implement it (such imports are
// bound to a stub returning ENOSYS). proc_exit is special (it ends the run) and not listed.
const HostFunction* find_wasi_function(std::string_view name);

}  // namespace microvm::wasm
