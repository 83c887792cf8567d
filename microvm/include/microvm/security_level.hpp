// The RTFS runtime context of an execution from its settings names: the security level
// ("pure" | "controlled" | "full") and the allowed capability ids. Shared by the CLI's
// --security/--allow and the service's security_level/capabilities, so both read them alike.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "microvm/error.hpp"
#include "rtfs/security.hpp"

namespace microvm {

// Capabilities without a level mean controlled; controlled without capabilities allows
// nothing; pure with capabilities is an error. Errors are InvalidConfig naming `level_name`
// and `allow_name` (the caller's words: "--security" or "security_level").
Expected<rtfs::RuntimeContext> runtime_context_for(const std::optional<std::string>& level,
                                                   const std::vector<std::string>& allowed,
                                                   const std::string& level_name,
                                                   const std::string& allow_name);

}  // namespace microvm
