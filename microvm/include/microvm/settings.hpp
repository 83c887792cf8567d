// The settings file (spec section 5): default provider, default config, provider-specific
// settings, per-capability overrides and named profiles.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "microvm/config.hpp"
#include "microvm/error.hpp"

namespace microvm {

class ProviderFactory;

// A partial MicroVMConfig: only the keys the file sets. env_vars merge key by key.
struct ConfigOverride {
    std::optional<std::chrono::milliseconds> timeout;
    std::optional<uint64_t> memory_limit_mb;
    std::optional<double> cpu_limit;
    std::optional<NetworkPolicy> network_policy;
    std::optional<FileSystemPolicy> fs_policy;
    std::optional<std::map<std::string, std::string>> env_vars;
    std::optional<uint64_t> max_output_bytes;
    std::optional<uint32_t> max_processes;

    MicroVMConfig apply_to(MicroVMConfig base) const;
    bool operator==(const ConfigOverride&) const = default;
};

using CapabilityConfig = ConfigOverride;

struct Profile {
    std::optional<std::string> default_provider;
    ConfigOverride default_config;
    bool operator==(const Profile&) const = default;
};

// dev: process, network full, fs ro, 60s. test: mock. prod: process, 30s, 256 MiB, no network,
// no files. A profile of the same name in the file replaces the built-in one.
std::map<std::string, Profile> builtin_profiles();

struct Settings {
    std::string default_provider = "process";
    MicroVMConfig default_config;
    std::map<std::string, nlohmann::json> provider_configs;  // objects
    std::map<std::string, CapabilityConfig> capability_configs;
    std::map<std::string, Profile> profiles = builtin_profiles();
    // The [service] table, for microvmd (warm pools, admission): read as JSON here, its keys
    // judged by the service, which is the only reader. Empty when absent.
    nlohmann::json service = nlohmann::json::object();
    std::string service_origin;  // "file:line" of the [service] table

    // Where these settings came from: the file path, or empty for the built-in defaults.
    std::string source_file;
    // "file:line" of each [provider_configs.NAME] table, to locate provider settings errors.
    std::map<std::string, std::string> provider_config_origins;
};

// Errors are InvalidConfig naming file:line and key, e.g.
//   microvm.toml:7: default_config.timeout: expected a duration string like "30s", got integer
Expected<Settings> parse_settings(std::string_view toml_text, std::string_view file_name);
// The config override keys of a JSON object (microvmd's request bodies and sandbox pool
// templates), in the settings file's names and forms, read by the settings file's own reader
// value for value; its other keys are left to the caller. Errors are InvalidConfig naming the
// key, e.g. "timeout: invalid duration ...".
Expected<ConfigOverride> read_config_override(const nlohmann::json& object);
// The keys of a config override, in the settings file's names (what read_config_override reads).
std::span<const char* const> config_override_keys();
// Reads a settings file that must be trusted where it lies (trusted_path.hpp): SetupError naming
// the file and the fault when it is not (a sandbox could have planted it); InvalidConfig when it
// cannot be read or parsed.
Expected<Settings> load_settings_file(const std::string& path);

// The user's settings directory: ${XDG_CONFIG_HOME:-$HOME/.config}/microvm, each variable taken
// only when absolute; nullopt when neither is. Trusted state (host/trusted_state.hpp protects it).
std::optional<std::string> user_settings_dir();

// Where settings come from, first match wins: an explicit path (--config), $MICROVM_CONFIG, the
// user's user_settings_dir()/config.toml, the system's /etc/microvm/config.toml, else the
// built-in defaults. Never the working directory.
struct SettingsPlaces {
    std::optional<std::string> explicit_path;
    std::optional<std::string> env_path;
    std::optional<std::string> user_path;
    std::string system_path = "/etc/microvm/config.toml";
    static SettingsPlaces from_environment(std::optional<std::string> explicit_path);
};
Expected<Settings> load_settings(const SettingsPlaces& places);
Expected<Settings> load_settings(std::optional<std::string> explicit_path = std::nullopt);

// The settings with the profile applied: its default_provider, its config over default_config.
Expected<Settings> apply_profile(Settings settings, std::string_view name);

// default_config with the capability's override (if any) applied.
MicroVMConfig config_for_capability(const Settings& settings, std::string_view capability_id);

// Every [provider_configs.NAME] table names a provider of the factory and matches its
// config_schema(): settings the operator wrote that would never apply (a misspelt name), or apply
// only once that provider is first asked for, are refused when they are read. InvalidConfig
// located at the table otherwise.
Expected<void> check_provider_configs(ProviderFactory& factory, const Settings& settings);

// factory.initialize_provider(name, provider_configs[name]); an error in those settings is
// located at the [provider_configs.NAME] table of the file.
Expected<void> initialize_provider_from_settings(ProviderFactory& factory, const Settings& settings,
                                                 const std::string& name);

}  // namespace microvm
