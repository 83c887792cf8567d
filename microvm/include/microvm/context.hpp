// ExecutionContext: everything one execution needs.
#pragma once

#include <functional>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "microvm/cancel.hpp"
#include "microvm/config.hpp"
#include "microvm/program.hpp"
#include "microvm/result.hpp"
#include "rtfs/security.hpp"

namespace microvm {

// Receives the program's output while it runs, chunk by chunk, on the executing thread, within
// the output caps (what is cut is never delivered). The result still holds the captured output.
using OutputSink = std::function<void(OutputStream stream, std::string_view chunk)>;

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
    OutputSink on_output;  // optional: streaming
    CancelToken cancel;    // optional: cancel() on its source ends the run as killed/cancelled
};

}  // namespace microvm
