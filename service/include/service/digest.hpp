// SHA-256 (host/sha256.hpp) as lower-case hex: the program digest of audit records, and the form in
// which bearer tokens are compared (equal-length digests, compared in constant time).
#pragma once

#include <string>
#include <string_view>

namespace microvm::service {

std::string sha256_hex(std::string_view data);
// Constant time in the contents (both are hashed first, so lengths leak nothing either).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace microvm::service
