// to_json and exit_status_for: the machine-readable face of an ExecutionResult.
#include "microvm/json_output.hpp"

#include <string>
#include <string_view>

#include "microvm/utf8.hpp"

namespace microvm {
namespace {

// ordered: keys appear in the order of the spec, which is easier for people to read.
using json = nlohmann::ordered_json;

double to_ms(std::chrono::nanoseconds d) {
    return static_cast<double>(d.count()) / 1e6;
}

json network_request(const rtfs::NetworkRequest& r) {
    json j = {{"url", valid_utf8(r.url)},
              {"method", valid_utf8(r.method)},
              {"status", r.status},
              {"bytes", r.bytes}};
    if (!r.error.empty()) j["error"] = valid_utf8(r.error);
    if (r.allowed) {  // a record of the egress proxy (see rtfs::NetworkRequest)
        j["allowed"] = *r.allowed;
        j["rule"] = valid_utf8(r.rule);
        j["host"] = valid_utf8(r.host);
        j["port"] = r.port;
        if (!r.address.empty()) j["address"] = valid_utf8(r.address);
        j["bytes_sent"] = r.bytes_sent;
        j["bytes_received"] = r.bytes_received;
        j["duration_ms"] = to_ms(r.duration);
    }
    if (r.reported_by_sandbox) j["reported_by"] = "sandbox";
    return j;
}

json file_operation(const rtfs::FileOperation& op) {
    json j = {{"path", valid_utf8(op.path)},
              {"operation", valid_utf8(op.operation)},
              {"bytes", op.bytes}};
    if (!op.error.empty()) j["error"] = valid_utf8(op.error);
    if (op.reported_by_sandbox) j["reported_by"] = "sandbox";
    return j;
}

template <class T>
json or_null(const std::optional<T>& v) {
    return v ? json(*v) : json(nullptr);
}

}  // namespace

json to_json(const ExecutionResult& r) {
    const ExecutionMetadata& m = r.metadata;
    json requests = json::array();
    for (const auto& req : m.network_requests) requests.push_back(network_request(req));
    json files = json::array();
    for (const auto& op : m.file_operations) files.push_back(file_operation(op));
    json metadata = {
        {"duration_ms", to_ms(m.duration)},
        {"cpu_time_ms", m.cpu_time ? json(to_ms(*m.cpu_time)) : json(nullptr)},
        {"memory_peak_mb", or_null(m.memory_peak_mb)},
        {"isolation", to_string(m.isolation)},
        {"network_requests", std::move(requests)},
        {"file_operations", std::move(files)},
    };
    if (m.cpu_throttling) {  // absent where the provider does not measure it
        metadata["cpu_throttled_ms"] = to_ms(m.cpu_throttling->throttled_time);
        metadata["cpu_throttled_periods"] = m.cpu_throttling->throttled_periods;
        metadata["cpu_periods"] = m.cpu_throttling->periods;
    }
    if (!m.provider_details.empty()) {
        json details = json::object();
        for (const auto& [k, v] : m.provider_details) details[k] = valid_utf8(v);
        metadata["provider_details"] = std::move(details);
    }
    json error = nullptr;
    if (r.error) {
        error = {{"reason", to_string(r.error->reason)},
                 {"kind", valid_utf8(r.error->kind)},
                 {"message", valid_utf8(r.error->message)}};
    }
    return {
        {"execution_id", valid_utf8(r.execution_id)},
        {"provider", valid_utf8(m.provider)},
        {"status", to_string(r.status)},
        {"value", r.value ? json(valid_utf8(*r.value)) : json(nullptr)},
        {"exit_code", or_null(m.exit_code)},
        {"signal", or_null(m.signal)},
        {"stdout", valid_utf8(m.stdout_data)},
        {"stderr", valid_utf8(m.stderr_data)},
        {"stdout_truncated", m.stdout_truncated},
        {"stderr_truncated", m.stderr_truncated},
        {"error", std::move(error)},
        {"metadata", std::move(metadata)},
    };
}

// From the error's reason (one mapping for every provider). The spec fixes every status but
// invalid input: eval of a source that does not read (the RTFS error ReadError) gives 2, like the
// rtfs tool; any other invalid input or config gives 64, the usage-error status, because it is
// the caller's input that is wrong, not the program's behaviour. A cancelled run gives 130, as a
// shell reports an interrupted command.
int exit_status_for(const ExecutionResult& r, bool is_eval) {
    if (!r.error) return is_eval ? 0 : r.metadata.exit_code.value_or(0);
    const ExecutionError& e = *r.error;
    switch (e.reason) {
        case Reason::NonzeroExit: {
            // A status is a byte: a wasm module's proc_exit(256) would leave the shell 0 for a
            // failed run, proc_exit(380) a timeout's 124 (red team, 2026-12-06).
            const int code = r.metadata.exit_code.value_or(1);
            return is_eval || code < 1 || code > 255 ? 1 : code;
        }
        case Reason::RtfsError:
            switch (r.status) {
                case Status::PolicyViolation: return kExitPolicy;
                case Status::InvalidInput: return is_eval ? kExitReadError : kExitUsage;
                case Status::MemoryExceeded: return kExitMemory;
                case Status::Timeout: return kExitTimeout;
                default: return 1;
            }
        case Reason::Trap:
        case Reason::GuestProtocol:
            return 1;
        case Reason::Timeout: return kExitTimeout;
        case Reason::MemoryExceeded: return kExitMemory;
        case Reason::Signaled: return kExitSignalBase + r.metadata.signal.value_or(9);
        case Reason::Cancelled: return kExitCancelled;
        case Reason::ProcessLimit: return kExitSignalBase + 9;
        case Reason::ProgramNotFound: return kExitNotFound;
        case Reason::NotExecutable:
        case Reason::ExecFailed:
            return kExitNotExecutable;
        case Reason::PolicyRefused:
        case Reason::CapabilityDenied:
            return kExitPolicy;
        case Reason::InvalidConfig:
        case Reason::InvalidProgram:
            return kExitUsage;
        case Reason::SetupError:
        case Reason::Unavailable:
            return kExitSetup;
    }
    return kExitSetup;
}

}  // namespace microvm
