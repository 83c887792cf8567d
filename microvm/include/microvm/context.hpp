// ExecutionContext: everything one execution needs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "microvm/config.hpp"
#include "microvm/program.hpp"
#include "rtfs/security.hpp"

namespace microvm {

struct ExecutionContext {
    std::string execution_id;
    std::optional<Program> program;
    // When set, must be one of capability_permissions (checked once, for every provider).
    std::optional<std::string> capability_id;
    std::vector<std::string> capability_permissions;
    // RTFS values passed to the program, in printed form; an RTFS program sees them as *args*.
    std::vector<std::string> args;
    MicroVMConfig config;
    std::optional<rtfs::RuntimeContext> runtime_context;  // nullopt = pure
};

}  // namespace microvm
