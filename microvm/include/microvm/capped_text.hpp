// Output kept up to a byte cap, with a flag saying whether anything was cut: program output is
// never buffered without bound.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace microvm {

// Appends to text what of s fits under cap, sets truncated when some of it did not, and returns
// the part kept. One rule for every capture (CappedText, the host's output capture, the agent's
// output frames).
inline std::string_view append_capped(std::string& text, bool& truncated, uint64_t cap, std::string_view s) {
    const uint64_t room = cap > text.size() ? cap - text.size() : 0;
    if (s.size() > room) {
        truncated = true;
        s = s.substr(0, room);
    }
    text.append(s);
    return s;
}

class CappedText {
public:
    explicit CappedText(uint64_t cap) : cap_(cap) {}
    // Appends what fits and returns it (the part kept).
    std::string_view append(std::string_view s) { return append_capped(text_, truncated_, cap_, s); }
    const std::string& text() const { return text_; }
    std::string take() { return std::move(text_); }
    bool truncated() const { return truncated_; }

private:
    uint64_t cap_;
    std::string text_;
    bool truncated_ = false;
};

}  // namespace microvm
