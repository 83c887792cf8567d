#include "host/sandbox_settings.hpp"

#include "host/cgroup.hpp"
#include "microvm/config.hpp"

namespace microvm::host {

nlohmann::json rlimit_settings_schema() {
    return {{"max_file_size_mb",
             {{"type", "integer"},
              {"minimum", 1},
              {"description", "RLIMIT_FSIZE of sandboxed programs (default 1024)"}}},
            {"max_open_files",
             {{"type", "integer"},
              {"minimum", 16},
              {"maximum", 1048576},
              {"description", "RLIMIT_NOFILE of sandboxed programs (default 1024)"}}}};
}

RlimitSettings parse_rlimit_settings(const nlohmann::json& s) {
    RlimitSettings out;
    auto positive = [&](const char* key) -> std::optional<uint64_t> {
        auto it = s.find(key);
        if (it == s.end() || !it->is_number_integer() || it->get<int64_t>() <= 0) return {};
        return static_cast<uint64_t>(it->get<int64_t>());
    };
    if (auto mb = positive("max_file_size_mb")) out.max_file_size_bytes = *mb << 20;
    if (auto n = positive("max_open_files")) out.max_open_files = *n;
    return out;
}

std::optional<Unsupported> refuse_host_lists(const NetworkPolicy& net, std::string reason) {
    if (net.kind != NetworkPolicy::Kind::AllowList && net.kind != NetworkPolicy::Kind::DenyList) {
        return std::nullopt;
    }
    return Unsupported{"network_policy " + net.to_string(), std::move(reason)};
}

std::optional<Unsupported> refuse_cpu_below_quota_floor(double cpu_limit) {
    if (cpu_limit >= kMinCpuFraction) return std::nullopt;
    return Unsupported{"cpu_limit " + format_cpu_share(cpu_limit),
                       "a share below 0.01 of a core cannot be enforced (the kernel's CPU quota has a "
                       "floor of 1 ms per 100 ms period, and the wasm provider's pacing keeps it)"};
}

}  // namespace microvm::host
