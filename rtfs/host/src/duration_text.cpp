#include "rtfs/host/duration_text.hpp"

#include <cstdint>

namespace rtfs::host {
namespace {

constexpr size_t kMaxFractionDigits = 9;

struct Unit {
    std::string_view suffix;
    int64_t ms;
};
// "ms" before "m" and "s": the longest suffix wins.
constexpr Unit kUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}};

}  // namespace

Expected<std::chrono::milliseconds, std::string> parse_duration(std::string_view t) {
    auto bad = [](std::string why) { return unexpected(std::move(why)); };
    if (t.empty()) return bad(kDurationForms);
    if (t.front() == '-') return bad("durations cannot be negative");
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
        if (t.ends_with(u.suffix)) {
            unit = &u;
            break;
        }
    }
    if (!unit) return bad(std::string("missing or unknown unit; ") + kDurationForms);
    std::string_view number = t.substr(0, t.size() - unit->suffix.size());
    size_t dot = number.find('.');
    std::string_view whole = number.substr(0, dot);
    std::string_view fraction = dot == std::string_view::npos ? "" : number.substr(dot + 1);
    auto digits = [](std::string_view s) {
        return s.find_first_not_of("0123456789") == std::string_view::npos;
    };
    if (whole.empty() || !digits(whole) || !digits(fraction) ||
        (dot != std::string_view::npos && fraction.empty())) {
        return bad(kDurationForms);
    }
    if (fraction.size() > kMaxFractionDigits) return bad("too many decimal places");

    // Exact integer arithmetic: value_ms = whole * unit + fraction * unit / 10^digits. The
    // fraction term fits easily (at most 9 digits times 3.6e6); the whole term is checked.
    int64_t total = 0;
    for (char c : whole) {
        if (__builtin_mul_overflow(total, 10, &total) ||
            __builtin_add_overflow(total, c - '0', &total)) {
            return bad("too large");
        }
    }
    if (__builtin_mul_overflow(total, unit->ms, &total)) return bad("too large");
    int64_t frac = 0, scale = 1;
    for (char c : fraction) {
        frac = frac * 10 + (c - '0');
        scale *= 10;
    }
    frac *= unit->ms;
    if (frac % scale != 0) return bad("not a whole number of milliseconds");
    if (__builtin_add_overflow(total, frac / scale, &total)) return bad("too large");
    if (total == 0) return bad("must be greater than zero");
    return std::chrono::milliseconds(total);
}

}  // namespace rtfs::host
