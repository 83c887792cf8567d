// Parsing --timeout values: "500ms", "30s", "2m", "1.5s" (a bare number means seconds).
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace rtfs::cli {

// nullopt for anything else, including zero and negative durations.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace rtfs::cli
