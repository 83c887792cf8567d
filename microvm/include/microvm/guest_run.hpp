// The two halves every provider that runs RTFS through the guest runner shares: building the job
// from an execution context, and turning what the guest left behind (its exit and its result
// frame) into the ExecutionResult's status, value, error and effects. One mapping for process,
// gvisor, wasm and the VM providers.
#pragma once

#include <string_view>

#include "microvm/context.hpp"
#include "microvm/guest_protocol.hpp"
#include "microvm/program.hpp"
#include "microvm/result.hpp"

namespace microvm::guest {

Job job_for(const RtfsSource& program, const ExecutionContext& ctx);

// What a provider observed of the guest once it ended.
struct Exit {
    bool exited = false;             // ended by exit (not a signal, trap or kill)
    int exit_code = -1;
    std::string_view frame;          // bytes of the result channel (fd 3 or the result file)
    bool frame_truncated = false;    // the channel hit its cap
    std::string_view stderr_data;    // for the message when the guest failed
};

// Sets r.status, r.value / r.error and the recorded effects from the guest's result. A guest
// that failed (non-zero exit, no frame, bad frame) is a runtime_error naming why.
void apply_result(const Exit& exit, ExecutionResult& r);

}  // namespace microvm::guest
