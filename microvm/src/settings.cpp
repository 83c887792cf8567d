// Settings: built-in profiles, overrides, and where the settings file is looked for.
#include "microvm/settings.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "microvm/factory.hpp"
#include "microvm/trusted_path.hpp"
#include "rtfs/host/unique_fd.hpp"
#include "text_util.hpp"

namespace microvm {
namespace {

// A settings file is small; this only stops an accidental multi-gigabyte read.
constexpr std::uintmax_t kMaxSettingsBytes = 16u << 20;

bool exists(const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0;
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
    if (!exists(path)) return cannot(std::strerror(errno));
    // A sandbox with write access somewhere must not be able to plant settings there.
    RTFS_TRY(std::string real, trusted_real_path(path, "settings file"));
    const std::optional<rtfs::host::OpenedFile> file = rtfs::host::open_for_judging(real);
    if (!file) return cannot(std::strerror(errno));
    if (!S_ISREG(file->st.st_mode)) return cannot("not a regular file");
    if (static_cast<std::uintmax_t>(file->st.st_size) > kMaxSettingsBytes) return cannot("larger than 16 MiB");
    // Bounded again while reading: the file may grow after the fstat.
    std::optional<std::string> text = rtfs::host::read_to_end(file->fd.get(), kMaxSettingsBytes);
    if (!text) return cannot("read failed or larger than 16 MiB");
    RTFS_TRY(Settings settings, parse_settings(*text, path));
    settings.source_file = path;
    return settings;
}

SettingsPlaces SettingsPlaces::from_environment(std::optional<std::string> explicit_path) {
    SettingsPlaces places;
    places.explicit_path = std::move(explicit_path);
    if (const char* env = std::getenv("MICROVM_CONFIG"); env && *env) places.env_path = env;
    if (auto dir = user_settings_dir()) places.user_path = *dir + "/config.toml";
    return places;
}

Expected<Settings> load_settings(const SettingsPlaces& places) {
    if (places.explicit_path) return load_settings_file(*places.explicit_path);
    if (places.env_path) return load_settings_file(*places.env_path);
    // Never the working directory: a sandbox may have written there.
    if (places.user_path && exists(*places.user_path)) return load_settings_file(*places.user_path);
    if (!places.system_path.empty() && exists(places.system_path)) {
        return load_settings_file(places.system_path);
    }
    return Settings{};
}

Expected<Settings> load_settings(std::optional<std::string> explicit_path) {
    return load_settings(SettingsPlaces::from_environment(std::move(explicit_path)));
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

Expected<void> check_provider_configs(ProviderFactory& factory, const Settings& settings) {
    for (const auto& [name, config] : settings.provider_configs) {
        auto checked = factory.check_settings(name, config);
        if (checked) continue;
        auto origin = settings.provider_config_origins.find(name);
        const std::string where = origin != settings.provider_config_origins.end()
                                      ? origin->second
                                      : "[provider_configs." + name + "]";
        return fail(Failure::Kind::InvalidConfig, where + ": " + checked.error().message);
    }
    return Ok{};
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
