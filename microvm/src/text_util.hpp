// Small string helpers shared by the core's parsers (private to microvm_core); trimming and
// lower-casing are rtfs/ascii_text.hpp's.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace microvm::text {

// What policy text (--fs, --net, their settings) is trimmed of: spaces, tabs and line ends, not
// \v or \f, which stay in an entry and make it wrong rather than another ("rw=/data\f" is
// refused as missing, never granted as /data).
inline constexpr std::string_view kPolicySpace = " \t\n\r";

// Splits on every separator; "a,,b" gives {"a", "", "b"} so callers can reject empty entries.
inline std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    while (true) {
        size_t pos = s.find(sep, start);
        if (pos == std::string_view::npos) {
            parts.push_back(s.substr(start));
            return parts;
        }
        parts.push_back(s.substr(start, pos - start));
        start = pos + 1;
    }
}

template <class Range>
std::string join(const Range& items, std::string_view sep) {
    std::string out;
    bool first = true;
    for (const auto& item : items) {
        if (!first) out += sep;
        out += item;
        first = false;
    }
    return out;
}

// 'text' with quotes, for error messages; past 256 bytes, its start and its length (a 1 MB
// policy made a 1 MB message, in every log line and reply that carried it).
inline std::string quoted(std::string_view s) {
    constexpr size_t kShown = 256;
    if (s.size() <= kShown) return "'" + std::string(s) + "'";
    size_t cut = kShown;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // whole characters
    return "'" + std::string(s.substr(0, cut)) + "...' (" + std::to_string(s.size()) + " bytes)";
}

}  // namespace microvm::text
