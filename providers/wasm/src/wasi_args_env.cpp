// args_* and environ_*: the guest's argv and its environment (exactly config.env_vars).
#include <string>
#include <vector>

#include "wasi.hpp"
#include "wasi_abi.hpp"

namespace microvm::wasm {
namespace {

using wabt::interp::Values;

uint32_t sizes_get(RunState& s, const std::vector<std::string>& list, const Values& p) {
    uint64_t bytes = 0;
    for (const std::string& item : list) bytes += item.size() + 1;
    GuestMemory m = s.mem();
    if (!m.store<uint32_t>(u32_at(p, 0), static_cast<uint32_t>(list.size())) ||
        !m.store<uint32_t>(u32_at(p, 1), static_cast<uint32_t>(bytes))) {
        return wasi::kFault;
    }
    return wasi::kSuccess;
}

// Writes the pointer array at p[0] and the NUL-terminated strings at p[1].
uint32_t list_get(RunState& s, const std::vector<std::string>& list, const Values& p) {
    GuestMemory m = s.mem();
    uint64_t pointers = u32_at(p, 0);
    uint64_t cursor = u32_at(p, 1);
    for (const std::string& item : list) {
        if (!m.store<uint32_t>(pointers, static_cast<uint32_t>(cursor))) return wasi::kFault;
        if (!m.write(cursor, item.c_str(), item.size() + 1)) return wasi::kFault;
        pointers += 4;
        cursor += item.size() + 1;
    }
    return wasi::kSuccess;
}

uint32_t args_sizes_get(RunState& s, const Values& p) {
    return sizes_get(s, s.args, p);
}
uint32_t args_get(RunState& s, const Values& p) {
    return list_get(s, s.args, p);
}
uint32_t environ_sizes_get(RunState& s, const Values& p) {
    return sizes_get(s, s.environ, p);
}
uint32_t environ_get(RunState& s, const Values& p) {
    return list_get(s, s.environ, p);
}

constexpr HostFunction kFunctions[] = {
    {"args_sizes_get", "ii", args_sizes_get},
    {"args_get", "ii", args_get},
    {"environ_sizes_get", "ii", environ_sizes_get},
    {"environ_get", "ii", environ_get},
};

}  // namespace

std::span<const HostFunction> wasi_args_env_functions() {
    return kFunctions;
}

}  // namespace microvm::wasm
