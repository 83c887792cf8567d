// Trimming by ASCII white space and lower-casing ASCII letters, one way for every layer: the RTFS
// `trim` and number parsing, policy text, the host's reads of kernel files and tool output, HTTP
// header lines and host names. ASCII only, never the locale's isspace or tolower (which depend
// on the process's locale and could match other bytes).
#pragma once

#include <string>
#include <string_view>

namespace rtfs {

// Space, tab, line feed, vertical tab, form feed, carriage return.
inline constexpr std::string_view kAsciiSpace = " \t\n\v\f\r";

// s without the characters of `space` at either end (a view into s).
constexpr std::string_view trim_ascii(std::string_view s, std::string_view space = kAsciiSpace) {
    const size_t first = s.find_first_not_of(space);
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(space) - first + 1);
}

constexpr char lower_ascii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline std::string lower_ascii(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = lower_ascii(c);
    return out;
}

}  // namespace rtfs
