#include "microvm/guest_run.hpp"

#include <string>

#include "microvm/errors.hpp"

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
    auto fail = [&](std::string message) {
        set_error(r, Reason::GuestProtocol, std::move(message));
    };
    if (exit.frame_truncated) return fail("the guest's result frame exceeds the limit");
    if (!exit.exited || exit.exit_code != 0 || exit.frame.empty()) {
        std::string_view tail = exit.stderr_data;
        if (tail.size() > 500) tail = tail.substr(tail.size() - 500);
        return fail("the RTFS guest runner exited with code " + std::to_string(exit.exit_code) +
                    " without a result" + (tail.empty() ? "" : ": " + std::string(tail)));
    }
    auto decoded = read_result_frame(exit.frame);
    if (!decoded) return fail(decoded.error().message);
    // The runtime's log of its capability calls is the program's word (a program that took the
    // runtime over writes what it likes): marked so, in the result and in the audit log.
    for (auto& q : decoded->effects.network_requests) q.reported_by_sandbox = true;
    for (auto& op : decoded->effects.file_operations) op.reported_by_sandbox = true;
    r.metadata.network_requests = std::move(decoded->effects.network_requests);
    r.metadata.file_operations = std::move(decoded->effects.file_operations);
    if (decoded->ok) {
        r.status = Status::Ok;
        r.error.reset();
        r.value = std::move(decoded->value);
    } else {
        set_error(r, Reason::RtfsError, decoded->error_message, decoded->error_kind);
    }
}

}  // namespace microvm::guest
