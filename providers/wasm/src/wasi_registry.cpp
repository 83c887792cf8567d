// Lookup of WASI host functions by name across the per-area tables.
#include "wasi.hpp"

namespace microvm::wasm {

const HostFunction* find_wasi_function(std::string_view name) {
    for (auto table : {wasi_args_env_functions(), wasi_clock_proc_functions(), wasi_fd_functions(),
                       wasi_path_functions()}) {
        for (const HostFunction& f : table) {
            if (f.name == name) return &f;
        }
    }
    return nullptr;
}

}  // namespace microvm::wasm
