// A number written in decimal, read strictly: digits only (no sign, no space, no "+"), the whole
// text, within the type's range. One rule for ports, lengths, pids and sizes read from flags,
// peers and file names, where from_chars alone accepts a leading "-" for signed types.
#pragma once

#include <charconv>
#include <optional>
#include <string_view>
#include <type_traits>

namespace microvm {

template <class T>
std::optional<T> parse_decimal(std::string_view text) {
    static_assert(std::is_integral_v<T>);
    if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    T value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

}  // namespace microvm
