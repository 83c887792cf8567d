// HTTP/1.1 header text, as the egress proxy and the Firecracker API client read it: names
// compared case-insensitively in ASCII only (a locale's tolower could match other bytes), and
// optional whitespace (spaces and tabs, RFC 9110 "OWS") trimmed around values.
#pragma once

#include <algorithm>
#include <string_view>

#include "rtfs/ascii_text.hpp"

namespace microvm::http_text {

inline bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return rtfs::lower_ascii(x) == rtfs::lower_ascii(y); });
}

inline std::string_view trim_ows(std::string_view s) { return rtfs::trim_ascii(s, " \t"); }

}  // namespace microvm::http_text
