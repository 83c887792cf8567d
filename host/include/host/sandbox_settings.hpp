// What the sandbox providers (process, gvisor, qemu, firecracker; wasm for the last) share at
// their surface: the rlimit settings of `[provider_configs.NAME]` (schema and parsing), the
// refusal of network host lists by a backend that cannot enforce them, and of CPU shares below
// the quota floor.
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include "microvm/policy.hpp"
#include "microvm/provider.hpp"
#include "host/rlimits.hpp"

namespace microvm::host {

// The "max_file_size_mb" and "max_open_files" properties of a provider's settings schema.
nlohmann::json rlimit_settings_schema();

// Those settings from an object already validated against the schema (absent: the defaults).
RlimitSettings parse_rlimit_settings(const nlohmann::json& settings);

// Why a backend that says no more refuses allow/block lists.
inline constexpr const char* kHostListsNotImplemented =
    "host allow/block lists are not implemented by this provider; use deny or full";

// allow=/block= lists refused for reason (never treated as deny or full), by a backend that
// cannot make the egress proxy its sandbox's only way out; nullopt for other policies.
std::optional<Unsupported> refuse_host_lists(const NetworkPolicy& policy, std::string reason);

// A cpu_limit below what a CFS quota can enforce (kMinCpuFraction) is refused, never raised.
std::optional<Unsupported> refuse_cpu_below_quota_floor(double cpu_limit);

}  // namespace microvm::host
