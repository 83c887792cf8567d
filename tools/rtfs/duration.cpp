#include "duration.hpp"

#include <charconv>
#include <cmath>

namespace rtfs::cli {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    double amount = 0;
    const char* end = text.data() + text.size();
    auto [rest, ec] = std::from_chars(text.data(), end, amount);
    if (ec != std::errc() || rest == text.data()) return std::nullopt;
    const std::string_view unit(rest, static_cast<size_t>(end - rest));
    double ms_per_unit = 0;
    if (unit == "ms")
        ms_per_unit = 1;
    else if (unit == "s" || unit.empty())
        ms_per_unit = 1000;
    else if (unit == "m" || unit == "min")
        ms_per_unit = 60'000;
    else
        return std::nullopt;
    const double ms = amount * ms_per_unit;
    // Up to about 100 days: beyond that a deadline is pointless and the arithmetic could overflow.
    if (!(ms >= 1) || ms > 1e10) return std::nullopt;
    return std::chrono::milliseconds(static_cast<int64_t>(std::llround(ms)));
}

}  // namespace rtfs::cli
