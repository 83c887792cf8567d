// The settings file on arbitrary bytes, read as `microvm` and `microvmd` read it: parse_settings
// (TOML, then the project's settings), every profile applied, every capability's config. Each
// returns a value or an error, never a crash, a hang or an exception; what the reader accepts
// passes MicroVMConfig::validate() (it judges each key by it), and an error names file:line.
// (The [service] table's policy keys are a request body's: service_request_fuzz.)
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "microvm/settings.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace microvm;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto settings = parse_settings(text, "fuzz.toml");
    if (!settings) {
        if (!settings.error().message.starts_with("fuzz.toml:")) __builtin_trap();  // located
        return 0;
    }
    if (!settings->default_config.validate()) __builtin_trap();
    for (const auto& [id, unused] : settings->capability_configs) {
        if (!config_for_capability(*settings, id).validate()) __builtin_trap();
    }
    for (const auto& [name, unused] : settings->profiles) {
        auto applied = apply_profile(*settings, name);
        if (!applied || !applied->default_config.validate()) __builtin_trap();
    }
    return 0;
}
