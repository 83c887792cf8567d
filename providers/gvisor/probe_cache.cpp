#include "gvisor/probe_cache.hpp"

#include "host/boot_cache.hpp"

namespace microvm::gvisor {
namespace {

// Not the name older versions used (another record format): the two would overwrite each other.
constexpr const char* kFileName = "microvm-gvisor.boot-record";

// Everything besides the boot and the user that makes a record stale.
std::optional<nlohmann::json> identity(const ProbeKey& key) {
    auto runsc_file = host::file_identity(key.runsc);
    if (!runsc_file) return std::nullopt;
    return nlohmann::json{
        {"runsc", key.runsc},
        {"runsc_file", *runsc_file},
        {"wanted_platform", key.wanted_platform},
        {"cgroup_parent", key.cgroup_parent},
    };
}

}  // namespace

std::optional<std::string> cached_platform(const std::string& dir, const ProbeKey& key) {
    auto current = identity(key);
    if (!current) return std::nullopt;
    auto value = host::read_boot_record(dir, kFileName, *current);
    if (!value || !value->is_string()) return std::nullopt;
    std::string platform = value->get<std::string>();
    if (platform != "ptrace" && platform != "systrap") return std::nullopt;
    return platform;
}

void remember_platform(const std::string& dir, const ProbeKey& key, const std::string& platform) {
    if (auto current = identity(key)) host::write_boot_record(dir, kFileName, *current, platform);
}

}  // namespace microvm::gvisor
