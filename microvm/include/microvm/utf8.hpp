// UTF-8 validity, for the places that hand text to formats that demand it (JSON documents, OCI
// bundles): a program's bytes are checked, or their bad bytes replaced, but never thrown on.
#pragma once

#include <string>
#include <string_view>

namespace microvm {

bool is_valid_utf8(std::string_view s);

// s with every byte that does not start a valid UTF-8 sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view s);

}  // namespace microvm
