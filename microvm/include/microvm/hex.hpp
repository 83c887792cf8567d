// Bytes as lowercase hexadecimal digits, two per byte (random names, digests).
#pragma once

#include <cstddef>
#include <string>

namespace microvm {

inline std::string hex_of(const unsigned char* bytes, size_t size) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * size);
    for (size_t i = 0; i < size; ++i) {
        out += kDigits[bytes[i] >> 4];
        out += kDigits[bytes[i] & 15];
    }
    return out;
}

}  // namespace microvm
