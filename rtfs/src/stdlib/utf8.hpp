// UTF-8 helpers shared by the string, regex and JSON builtins. RTFS strings are byte strings that
// normally hold UTF-8; "characters" are code points. A byte that does not start a well-formed
// sequence counts as one character of its own, so every function here accepts any bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rtfs::utf8 {

struct Decoded {
    uint32_t cp;  // the code point, or the byte value when !valid
    size_t len;   // bytes consumed (>= 1)
    bool valid;
};

// Decodes the character at byte offset i (i < s.size()). Overlong forms, surrogates and
// truncated sequences are invalid: they decode as a single byte.
inline Decoded decode(std::string_view s, size_t i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) return {b0, 1, true};
    size_t len = 0;
    uint32_t cp = 0, min = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2, cp = b0 & 0x1Fu, min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3, cp = b0 & 0x0Fu, min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4, cp = b0 & 0x07u, min = 0x10000;
    } else {
        return {b0, 1, false};
    }
    if (i + len > s.size()) return {b0, 1, false};
    for (size_t k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xC0) != 0x80) return {b0, 1, false};
        cp = (cp << 6) | (b & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {b0, 1, false};
    return {cp, len, true};
}

inline void append(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Number of characters in s.
inline size_t length(std::string_view s) {
    size_t n = 0;
    for (size_t i = 0; i < s.size(); i += decode(s, i).len) ++n;
    return n;
}

// Byte offset of character number `index` (index <= length(s); length(s) gives s.size()).
inline size_t offset_of(std::string_view s, size_t index) {
    size_t i = 0;
    for (; index > 0 && i < s.size(); --index) i += decode(s, i).len;
    return i;
}

}  // namespace rtfs::utf8
