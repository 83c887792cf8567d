// Settings: built-in profiles, overrides, and where the settings file is looked for.
#include "microvm/settings.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "microvm/factory.hpp"
#include "text_util.hpp"

namespace microvm {
namespace {

// A settings file is small; this only stops an accidental multi-gigabyte read.
constexpr std::uintmax_t kMaxSettingsBytes = 16u << 20;

bool is_file(const std::filesystem::path& p) {
    std::error_code ec;
    return std::filesystem::is_regular_file(p, ec);
}

std::optional<std::filesystem::path> user_config_path() {
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) {
        return std::filesystem::path(xdg) / "microvm" / "config.toml";
    }
    if (const char* home = std::getenv("HOME"); home && *home) {
        return std::filesystem::path(home) / ".config" / "microvm" / "config.toml";
    }
    return std::nullopt;
}

}  // namespace

MicroVMConfig ConfigOverride::apply_to(MicroVMConfig base) const {
    if (timeout) base.timeout = *timeout;
    if (memory_limit_mb) base.memory_limit_mb = *memory_limit_mb;
    if (cpu_limit) base.cpu_limit = *cpu_limit;
    if (network_policy) base.network_policy = *network_policy;
    if (fs_policy) base.fs_policy = *fs_policy;
    if (env_vars) {
        for (const auto& [k, v] : *env_vars) base.env_vars[k] = v;
    }
    if (max_output_bytes) base.max_output_bytes = *max_output_bytes;
    if (max_processes) base.max_processes = *max_processes;
    return base;
}

std::map<std::string, Profile> builtin_profiles() {
    using std::chrono::seconds;
    Profile dev;
    dev.default_provider = "process";
    dev.default_config.network_policy = NetworkPolicy::full();
    dev.default_config.fs_policy = FileSystemPolicy::read_only();
    dev.default_config.timeout = seconds(60);

    Profile test;
    test.default_provider = "mock";

    Profile prod;
    prod.default_provider = "process";
    prod.default_config.timeout = seconds(30);
    prod.default_config.memory_limit_mb = 256;
    prod.default_config.network_policy = NetworkPolicy::denied();
    prod.default_config.fs_policy = FileSystemPolicy::none();

    return {{"dev", dev}, {"test", test}, {"prod", prod}};
}

Expected<Settings> load_settings_file(const std::string& path) {
    auto cannot = [&](std::string why) {
        return fail(Failure::Kind::InvalidConfig,
                    "cannot read settings file " + text::quoted(path) + ": " + std::move(why));
    };
    std::error_code ec;
    auto size = std::filesystem::file_size(path, ec);
    if (ec) return cannot(ec.message());
    if (size > kMaxSettingsBytes) return cannot("larger than 16 MiB");
    std::ifstream in(path, std::ios::binary);
    if (!in) return cannot(std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return cannot("read failed");
    RTFS_TRY(Settings settings, parse_settings(text.str(), path));
    settings.source_file = path;
    return settings;
}

Expected<Settings> load_settings(std::optional<std::string> explicit_path) {
    if (explicit_path) return load_settings_file(*explicit_path);
    if (const char* env = std::getenv("MICROVM_CONFIG"); env && *env) {
        return load_settings_file(env);
    }
    if (is_file("microvm.toml")) return load_settings_file("microvm.toml");
    if (auto user = user_config_path(); user && is_file(*user)) {
        return load_settings_file(user->string());
    }
    return Settings{};
}

Expected<Settings> apply_profile(Settings settings, std::string_view name) {
    auto it = settings.profiles.find(std::string(name));
    if (it == settings.profiles.end()) {
        std::vector<std::string> known;
        for (const auto& [n, unused] : settings.profiles) known.push_back(n);
        return fail(Failure::Kind::InvalidConfig, "unknown profile " + text::quoted(name) +
                                                      " (known: " + text::join(known, ", ") + ")");
    }
    const Profile& profile = it->second;
    if (profile.default_provider) settings.default_provider = *profile.default_provider;
    settings.default_config = profile.default_config.apply_to(settings.default_config);
    return settings;
}

MicroVMConfig config_for_capability(const Settings& settings, std::string_view capability_id) {
    auto it = settings.capability_configs.find(std::string(capability_id));
    if (it == settings.capability_configs.end()) return settings.default_config;
    return it->second.apply_to(settings.default_config);
}

Expected<void> initialize_provider_from_settings(ProviderFactory& factory, const Settings& settings,
                                                 const std::string& name) {
    auto config = settings.provider_configs.find(name);
    const nlohmann::json provider_settings =
        config == settings.provider_configs.end() ? nlohmann::json::object() : config->second;
    auto done = factory.initialize_provider(name, provider_settings);
    if (done) return Ok{};
    auto origin = settings.provider_config_origins.find(name);
    if (done.error().kind == Failure::Kind::InvalidConfig &&
        origin != settings.provider_config_origins.end()) {
        return fail(Failure::Kind::InvalidConfig, origin->second + ": " + done.error().message);
    }
    return done;
}

}  // namespace microvm
