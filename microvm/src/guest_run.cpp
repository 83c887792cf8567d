#include "microvm/guest_run.hpp"

#include <string>

namespace microvm::guest {

Job job_for(const RtfsSource& program, const ExecutionContext& ctx) {
    Job job;
    job.source = program.source;
    job.args = ctx.args;
    job.runtime_context = ctx.runtime_context.value_or(rtfs::RuntimeContext::pure());
    job.timeout_ms = static_cast<uint64_t>(ctx.config.timeout.count());
    job.network_policy = ctx.config.network_policy.to_string();
    return job;
}

void apply_result(const Exit& exit, ExecutionResult& r) {
    auto fail = [&](const char* kind, std::string message) {
        r.status = Status::RuntimeError;
        r.error = ExecutionError{kind, std::move(message)};
    };
    if (exit.frame_truncated) return fail("guest_protocol", "the guest's result frame exceeds the limit");
    if (!exit.exited || exit.exit_code != 0 || exit.frame.empty()) {
        std::string_view tail = exit.stderr_data;
        if (tail.size() > 500) tail = tail.substr(tail.size() - 500);
        return fail("guest_failed", "the RTFS guest runner exited with code " +
                                        std::to_string(exit.exit_code) + " without a result" +
                                        (tail.empty() ? "" : ": " + std::string(tail)));
    }
    auto decoded = unframe_result(exit.frame);
    if (!decoded) return fail("guest_protocol", decoded.error().message);
    r.metadata.network_requests = std::move(decoded->effects.network_requests);
    r.metadata.file_operations = std::move(decoded->effects.file_operations);
    if (decoded->ok) {
        r.status = Status::Ok;
        r.error.reset();
        r.value = std::move(decoded->value);
    } else {
        r.status = status_for_rtfs_error(decoded->error_kind);
        r.error = ExecutionError{decoded->error_kind, decoded->error_message};
    }
}

}  // namespace microvm::guest
