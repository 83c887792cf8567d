// Base64 (RFC 4648, with padding), for bytes that must travel in a JSON text exactly: a
// program's output that is not UTF-8, in microvmd's event stream.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace microvm {

std::string base64_encode(std::string_view bytes);

// nullopt unless text is whole, padded base64 of the standard alphabet (no spaces, no line
// breaks): a peer's text is decoded exactly or refused.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace microvm
