#include "service/digest.hpp"

#include <openssl/crypto.h>

#include "host/sha256.hpp"

namespace microvm::service {

std::string sha256_hex(std::string_view data) {
    // The daemon links libcrypto for TLS, so the lazy load cannot fail here once it started.
    Expected<std::string> digest = host::sha256_hex(data);
    return digest ? *digest : std::string();
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    const std::string da = sha256_hex(a);
    const std::string db = sha256_hex(b);
    return !da.empty() && da.size() == db.size() && CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0;
}

}  // namespace microvm::service
