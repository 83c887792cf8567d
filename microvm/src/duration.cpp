// Durations in the settings file and on the command line: "500ms", "30s", "2m", "1.5s", "1h".
#include <cstdint>

#include "microvm/policy.hpp"
#include "rtfs/host/duration_text.hpp"
#include "text_util.hpp"

namespace microvm {

Expected<std::chrono::milliseconds> parse_duration(std::string_view text) {
    auto parsed = rtfs::host::parse_duration(text);
    if (!parsed) return fail(Failure::Kind::InvalidConfig, "invalid duration " + text::quoted(text) + ": " + parsed.error());
    return *parsed;
}

std::string format_duration(std::chrono::milliseconds d) {
    const int64_t ms = d.count();
    if (ms <= 0) return std::to_string(ms) + "ms";
    if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    if (ms < 1000) return std::to_string(ms) + "ms";
    // Seconds with up to three decimals, trailing zeros dropped: 1500 -> "1.5s".
    std::string frac = std::to_string(1000 + ms % 1000).substr(1);
    while (frac.back() == '0') frac.pop_back();
    return std::to_string(ms / 1000) + "." + frac + "s";
}

}  // namespace microvm
