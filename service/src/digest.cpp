#include "service/digest.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>

namespace microvm::service {

namespace {

std::array<unsigned char, 32> sha256(std::string_view data) {
    std::array<unsigned char, 32> out{};
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
    auto d = sha256(data);
    std::string hex;
    hex.reserve(64);
    for (unsigned char c : d) {
        hex += "0123456789abcdef"[c >> 4];
        hex += "0123456789abcdef"[c & 0xF];
    }
    return hex;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    auto da = sha256(a);
    auto db = sha256(b);
    return CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0;
}

}  // namespace microvm::service
