// The host side of the launch message (launch_format.hpp): one encoder for every backend.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/launch_format.hpp"
#include "microvm/error.hpp"

namespace microvm::host {

// The message for argv (at least one string) and env under the reader's magic; InvalidInput
// when a string holds a NUL byte or the whole exceeds kMaxLaunchBytes / kMaxLaunchStrings.
Expected<std::string> encode_launch(uint32_t magic, const std::vector<std::string>& argv,
                                    const std::vector<std::string>& env);

}  // namespace microvm::host
