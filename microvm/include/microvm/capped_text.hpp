// Output kept up to a byte cap, with a flag saying whether anything was cut: program output is
// never buffered without bound.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace microvm {

class CappedText {
public:
    explicit CappedText(uint64_t cap) : cap_(cap) {}
    // Appends what fits and returns it (the part kept).
    std::string_view append(std::string_view s) {
        const uint64_t room = cap_ > text_.size() ? cap_ - text_.size() : 0;
        if (s.size() > room) {
            truncated_ = true;
            s = s.substr(0, room);
        }
        text_.append(s);
        return s;
    }
    const std::string& text() const { return text_; }
    std::string take() { return std::move(text_); }
    bool truncated() const { return truncated_; }

private:
    uint64_t cap_;
    std::string text_;
    bool truncated_ = false;
};

}  // namespace microvm
