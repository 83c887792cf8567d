// result_from_json: a result document (to_json's output, as the service sends it) read back.
// The document comes over a socket, so every key is checked for presence and type; nothing here
// throws.
#include <cmath>
#include <iterator>
#include <string>

#include "microvm/json_output.hpp"

namespace microvm {
namespace {

using json = nlohmann::json;

Failure bad(const std::string& key, const std::string& what) {
    return Failure{Failure::Kind::InvalidInput, "result document: " + key + ": " + what};
}

// The enum value whose to_string is name: the list is every value of the enum.
template <class E, size_t N>
std::optional<E> named(const std::string& name, const E (&values)[N]) {
    for (E v : values)
        if (name == to_string(v)) return v;
    return std::nullopt;
}

constexpr Status kStatuses[] = {Status::Ok,         Status::RuntimeError,   Status::Timeout,
                                Status::MemoryExceeded, Status::Killed, Status::PolicyViolation,
                                Status::InvalidInput, Status::SetupError, Status::Unavailable};
constexpr Reason kReasons[] = {
    Reason::NonzeroExit,    Reason::RtfsError,     Reason::Trap,          Reason::Timeout,
    Reason::MemoryExceeded, Reason::Signaled,      Reason::Cancelled,     Reason::ProgramNotFound,
    Reason::NotExecutable,  Reason::ExecFailed,    Reason::PolicyRefused, Reason::CapabilityDenied,
    Reason::InvalidConfig,  Reason::InvalidProgram, Reason::SetupError,   Reason::Unavailable,
    Reason::GuestProtocol,  Reason::ProcessLimit};
static_assert(std::size(kReasons) == static_cast<size_t>(kLastReason) + 1,
              "kReasons must list every Reason");
constexpr Isolation kIsolations[] = {Isolation::None, Isolation::Process, Isolation::Container,
                                     Isolation::VM, Isolation::Wasm};

// Readers of one key of an object; each fails naming the key.
struct Object {
    const json& j;
    std::string path;

    std::string key(const char* k) const { return path.empty() ? k : path + "." + k; }
    Expected<const json*> at(const char* k) const {
        auto it = j.find(k);
        if (it == j.end()) return rtfs::Unexpected<Failure>(bad(key(k), "missing"));
        return &*it;
    }
    Expected<std::string> string(const char* k) const {
        RTFS_TRY(const json* v, at(k));
        if (!v->is_string()) return rtfs::Unexpected<Failure>(bad(key(k), "expected a string"));
        return v->get<std::string>();
    }
    // Absent keys are the optional fields to_json omits.
    std::string string_or_empty(const char* k) const {
        auto it = j.find(k);
        return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
    }
    Expected<bool> boolean(const char* k) const {
        RTFS_TRY(const json* v, at(k));
        if (!v->is_boolean()) return rtfs::Unexpected<Failure>(bad(key(k), "expected true or false"));
        return v->get<bool>();
    }
    Expected<std::optional<std::string>> string_or_null(const char* k) const {
        RTFS_TRY(const json* v, at(k));
        if (v->is_null()) return std::optional<std::string>();
        if (!v->is_string()) return rtfs::Unexpected<Failure>(bad(key(k), "expected a string or null"));
        return std::optional<std::string>(v->get<std::string>());
    }
    Expected<std::optional<int>> int_or_null(const char* k) const {
        RTFS_TRY(const json* v, at(k));
        if (v->is_null()) return std::optional<int>();
        if (!v->is_number_integer()) return rtfs::Unexpected<Failure>(bad(key(k), "expected an integer or null"));
        return std::optional<int>(v->get<int>());
    }
    Expected<std::optional<double>> number_or_null(const char* k) const {
        RTFS_TRY(const json* v, at(k));
        if (v->is_null()) return std::optional<double>();
        if (!v->is_number()) return rtfs::Unexpected<Failure>(bad(key(k), "expected a number or null"));
        return std::optional<double>(v->get<double>());
    }
    uint64_t count_or_zero(const char* k) const {
        auto it = j.find(k);
        if (it == j.end() || !it->is_number_integer() || it->get<int64_t>() < 0) return 0;
        return it->get<uint64_t>();
    }
};

std::chrono::nanoseconds from_ms(double ms) {
    return std::chrono::nanoseconds(std::llround(ms * 1e6));
}

Expected<rtfs::NetworkRequest> network_request(const json& j, const std::string& path) {
    if (!j.is_object()) return rtfs::Unexpected<Failure>(bad(path, "expected an object"));
    Object o{j, path};
    rtfs::NetworkRequest r;
    RTFS_TRY(r.url, o.string("url"));
    RTFS_TRY(r.method, o.string("method"));
    RTFS_TRY(auto status, o.int_or_null("status"));
    r.status = status.value_or(0);
    r.bytes = o.count_or_zero("bytes");
    r.error = o.string_or_empty("error");
    if (auto it = j.find("allowed"); it != j.end() && it->is_boolean()) {  // an egress-proxy record
        r.allowed = it->get<bool>();
        r.rule = o.string_or_empty("rule");
        r.host = o.string_or_empty("host");
        r.port = static_cast<int>(o.count_or_zero("port"));
        r.address = o.string_or_empty("address");
        r.bytes_sent = o.count_or_zero("bytes_sent");
        r.bytes_received = o.count_or_zero("bytes_received");
        if (auto d = j.find("duration_ms"); d != j.end() && d->is_number()) r.duration = from_ms(d->get<double>());
    }
    r.reported_by_sandbox = o.string_or_empty("reported_by") == "sandbox";
    return r;
}

Expected<rtfs::FileOperation> file_operation(const json& j, const std::string& path) {
    if (!j.is_object()) return rtfs::Unexpected<Failure>(bad(path, "expected an object"));
    Object o{j, path};
    rtfs::FileOperation op;
    RTFS_TRY(op.path, o.string("path"));
    RTFS_TRY(op.operation, o.string("operation"));
    op.bytes = o.count_or_zero("bytes");
    op.error = o.string_or_empty("error");
    op.reported_by_sandbox = o.string_or_empty("reported_by") == "sandbox";
    return op;
}

Expected<void> read_metadata(const json& j, ExecutionMetadata& m) {
    if (!j.is_object()) return rtfs::Unexpected<Failure>(bad("metadata", "expected an object"));
    Object o{j, "metadata"};
    RTFS_TRY(const json* duration, o.at("duration_ms"));
    if (!duration->is_number()) return rtfs::Unexpected<Failure>(bad("metadata.duration_ms", "expected a number"));
    m.duration = from_ms(duration->get<double>());
    RTFS_TRY(auto cpu, o.number_or_null("cpu_time_ms"));
    if (cpu) m.cpu_time = from_ms(*cpu);
    // Absent where the provider does not measure it.
    if (auto it = j.find("cpu_throttled_ms"); it != j.end() && it->is_number() && it->get<double>() >= 0) {
        CpuThrottling t;
        t.throttled_time = from_ms(it->get<double>());
        t.throttled_periods = o.count_or_zero("cpu_throttled_periods");
        t.periods = o.count_or_zero("cpu_periods");
        m.cpu_throttling = t;
    }
    RTFS_TRY(m.memory_peak_mb, o.number_or_null("memory_peak_mb"));
    RTFS_TRY(std::string isolation, o.string("isolation"));
    auto iso = named(isolation, kIsolations);
    if (!iso) return rtfs::Unexpected<Failure>(bad("metadata.isolation", "unknown isolation '" + isolation + "'"));
    m.isolation = *iso;
    for (const char* list : {"network_requests", "file_operations"}) {
        RTFS_TRY(const json* arr, o.at(list));
        if (!arr->is_array()) return rtfs::Unexpected<Failure>(bad(o.key(list), "expected an array"));
        for (size_t i = 0; i < arr->size(); ++i) {
            const std::string path = o.key(list) + "[" + std::to_string(i) + "]";
            if (std::string_view(list) == "network_requests") {
                RTFS_TRY(auto r, network_request((*arr)[i], path));
                m.network_requests.push_back(std::move(r));
            } else {
                RTFS_TRY(auto op, file_operation((*arr)[i], path));
                m.file_operations.push_back(std::move(op));
            }
        }
    }
    if (auto it = j.find("provider_details"); it != j.end() && it->is_object())
        for (const auto& [k, v] : it->items())
            if (v.is_string()) m.provider_details[k] = v.get<std::string>();
    return Ok{};
}

}  // namespace

Expected<ExecutionResult> result_from_json(const json& doc) {
    if (!doc.is_object()) return rtfs::Unexpected<Failure>(bad("(document)", "expected an object"));
    Object o{doc, ""};
    ExecutionResult r;
    ExecutionMetadata& m = r.metadata;
    RTFS_TRY(r.execution_id, o.string("execution_id"));
    RTFS_TRY(m.provider, o.string("provider"));
    RTFS_TRY(std::string status, o.string("status"));
    auto s = named(status, kStatuses);
    if (!s) return rtfs::Unexpected<Failure>(bad("status", "unknown status '" + status + "'"));
    r.status = *s;
    RTFS_TRY(r.value, o.string_or_null("value"));
    RTFS_TRY(m.exit_code, o.int_or_null("exit_code"));
    RTFS_TRY(m.signal, o.int_or_null("signal"));
    RTFS_TRY(m.stdout_data, o.string("stdout"));
    RTFS_TRY(m.stderr_data, o.string("stderr"));
    RTFS_TRY(m.stdout_truncated, o.boolean("stdout_truncated"));
    RTFS_TRY(m.stderr_truncated, o.boolean("stderr_truncated"));
    RTFS_TRY(const json* error, o.at("error"));
    if (!error->is_null()) {
        if (!error->is_object()) return rtfs::Unexpected<Failure>(bad("error", "expected an object or null"));
        Object e{*error, "error"};
        RTFS_TRY(std::string reason, e.string("reason"));
        auto why = named(reason, kReasons);
        if (!why) return rtfs::Unexpected<Failure>(bad("error.reason", "unknown reason '" + reason + "'"));
        ExecutionError x;
        x.reason = *why;
        RTFS_TRY(x.kind, e.string("kind"));
        RTFS_TRY(x.message, e.string("message"));
        r.error = std::move(x);
    } else if (r.status != Status::Ok) {
        return rtfs::Unexpected<Failure>(bad("error", "null although the status is " + status));
    }
    RTFS_TRY(const json* metadata, o.at("metadata"));
    RTFS_CHECK(read_metadata(*metadata, m));
    return r;
}

}  // namespace microvm
