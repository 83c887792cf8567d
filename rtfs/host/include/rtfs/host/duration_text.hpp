// Durations as a person writes them on a command line or in a settings file: "500ms", "30s",
// "1.5s", "2m", "1h". One parser for the `rtfs` CLI and the MicroVM layer (microvm::parse_duration
// wraps it into its InvalidConfig error).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "rtfs/expected.hpp"

namespace rtfs::host {

// The forms parse_duration takes, for messages.
inline constexpr const char* kDurationForms =
    "expected a positive number with a unit ms, s, m or h, like 500ms, 30s, 1.5s, 2m, 1h";

// A positive number with a unit (a bare number is refused: "30" could mean seconds or
// milliseconds), exactly: a whole number of milliseconds, up to what int64 holds. Otherwise why
// not, e.g. "missing or unknown unit; expected ...".
Expected<std::chrono::milliseconds, std::string> parse_duration(std::string_view text);

}  // namespace rtfs::host
