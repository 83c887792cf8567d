#include "microvm/security_level.hpp"

namespace microvm {

Expected<rtfs::RuntimeContext> runtime_context_for(const std::optional<std::string>& level,
                                                   const std::vector<std::string>& allowed,
                                                   const std::string& level_name,
                                                   const std::string& allow_name) {
    if (!level) {
        return allowed.empty() ? rtfs::RuntimeContext::pure()
                               : rtfs::RuntimeContext::controlled(allowed);
    }
    if (*level == "pure") {
        if (!allowed.empty())
            return fail(Failure::Kind::InvalidConfig,
                        allow_name + " cannot be combined with " + level_name + " pure");
        return rtfs::RuntimeContext::pure();
    }
    if (*level == "controlled") return rtfs::RuntimeContext::controlled(allowed);
    if (*level == "full") return rtfs::RuntimeContext::full();
    return fail(Failure::Kind::InvalidConfig,
                level_name + ": expected pure, controlled or full, got '" + *level + "'");
}

}  // namespace microvm
