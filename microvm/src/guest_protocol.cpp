// The provider <-> guest runner wire format (see guest_protocol.hpp). Every decoder checks
// every type and never throws: the bytes come from inside a sandbox.
#include "microvm/guest_protocol.hpp"

#include <unistd.h>

#include <sys/stat.h>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include <nlohmann/json.hpp>

#include "text_util.hpp"

namespace microvm::guest {
namespace {

using nlohmann::json;

rtfs::Unexpected<Failure> protocol_error(std::string what) {
    return fail(Failure::Kind::InvalidInput, "guest protocol: " + std::move(what));
}

// Serialises without throwing: bytes that are not UTF-8 (RTFS strings may hold any) are replaced.
std::string dump(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Expected<json> parse_object(std::string_view text, const char* what) {
    json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return protocol_error(std::string(what) + " is not valid JSON");
    if (!j.is_object()) return protocol_error(std::string(what) + " is not a JSON object");
    return j;
}

// Typed field readers: a missing field keeps the default; a field of the wrong type is an error.
Expected<void> read_string(const json& obj, const char* key, std::string& out) {
    auto it = obj.find(key);
    if (it == obj.end()) return Ok{};
    if (!it->is_string()) return protocol_error(std::string(key) + " must be a string");
    out = it->get<std::string>();
    return Ok{};
}

Expected<void> read_bool(const json& obj, const char* key, bool& out) {
    auto it = obj.find(key);
    if (it == obj.end()) return Ok{};
    if (!it->is_boolean()) return protocol_error(std::string(key) + " must be a boolean");
    out = it->get<bool>();
    return Ok{};
}

Expected<void> read_u64(const json& obj, const char* key, uint64_t& out) {
    auto it = obj.find(key);
    if (it == obj.end()) return Ok{};
    if (!it->is_number_unsigned()) {
        return protocol_error(std::string(key) + " must be a non-negative integer");
    }
    out = it->get<uint64_t>();
    return Ok{};
}

Expected<void> read_int(const json& obj, const char* key, int& out) {
    auto it = obj.find(key);
    if (it == obj.end()) return Ok{};
    bool fits = it->is_number_unsigned()
                    ? it->get<uint64_t>() <= uint64_t{std::numeric_limits<int>::max()}
                    : it->is_number_integer() &&
                          it->get<int64_t>() >= std::numeric_limits<int>::min() &&
                          it->get<int64_t>() <= std::numeric_limits<int>::max();
    if (!fits) return protocol_error(std::string(key) + " must be an integer that fits an int");
    out = static_cast<int>(it->get<int64_t>());
    return Ok{};
}

Expected<void> read_strings(const json& obj, const char* key, std::vector<std::string>& out) {
    auto it = obj.find(key);
    if (it == obj.end()) return Ok{};
    if (!it->is_array()) return protocol_error(std::string(key) + " must be an array of strings");
    out.clear();
    for (const json& item : *it) {
        if (!item.is_string()) {
            return protocol_error(std::string(key) + " must be an array of strings");
        }
        out.push_back(item.get<std::string>());
    }
    return Ok{};
}

Expected<rtfs::NetworkRequest> decode_request(const json& o) {
    if (!o.is_object()) return protocol_error("network_requests must hold objects");
    rtfs::NetworkRequest q;
    RTFS_CHECK(read_string(o, "url", q.url));
    RTFS_CHECK(read_string(o, "method", q.method));
    RTFS_CHECK(read_int(o, "status", q.status));
    RTFS_CHECK(read_u64(o, "bytes", q.bytes));
    RTFS_CHECK(read_string(o, "error", q.error));
    return q;
}

Expected<rtfs::FileOperation> decode_file_operation(const json& o) {
    if (!o.is_object()) return protocol_error("file_operations must hold objects");
    rtfs::FileOperation f;
    RTFS_CHECK(read_string(o, "path", f.path));
    RTFS_CHECK(read_string(o, "operation", f.operation));
    RTFS_CHECK(read_u64(o, "bytes", f.bytes));
    RTFS_CHECK(read_string(o, "error", f.error));
    return f;
}

// Decodes every element of the array field key with decode into out.
template <class T, class Decode>
Expected<void> read_array(const json& obj, const char* key, Decode decode, std::vector<T>& out) {
    auto it = obj.find(key);
    if (it == obj.end()) return Ok{};
    if (!it->is_array()) return protocol_error(std::string(key) + " must be an array");
    for (const json& item : *it) {
        RTFS_TRY(T value, decode(item));
        out.push_back(std::move(value));
    }
    return Ok{};
}

Expected<rtfs::EffectLog> decode_effects(const json& obj) {
    rtfs::EffectLog log;
    auto it = obj.find("effects");
    if (it == obj.end()) return log;
    if (!it->is_object()) return protocol_error("effects must be an object");
    RTFS_CHECK(read_array(*it, "network_requests", decode_request, log.network_requests));
    RTFS_CHECK(read_array(*it, "file_operations", decode_file_operation, log.file_operations));
    return log;
}

json encode_context(const rtfs::RuntimeContext& rc) {
    return {{"level", std::string(rtfs::to_string(rc.level))}, {"allowed", rc.allowed}};
}

Expected<rtfs::RuntimeContext> decode_context(const json& obj) {
    auto it = obj.find("runtime_context");
    if (it == obj.end()) return rtfs::RuntimeContext::pure();
    if (!it->is_object()) return protocol_error("runtime_context must be an object");
    std::string level = "pure";
    rtfs::RuntimeContext rc;
    RTFS_CHECK(read_string(*it, "level", level));
    RTFS_CHECK(read_strings(*it, "allowed", rc.allowed));
    if (level == "pure") {
        rc.level = rtfs::RuntimeContext::Level::Pure;
    } else if (level == "controlled") {
        rc.level = rtfs::RuntimeContext::Level::Controlled;
    } else if (level == "full") {
        rc.level = rtfs::RuntimeContext::Level::Full;
    } else {
        return protocol_error("runtime_context.level must be pure, controlled or full");
    }
    return rc;
}

uint32_t read_le32(std::string_view b) {
    return static_cast<uint32_t>(static_cast<unsigned char>(b[0])) |
           static_cast<uint32_t>(static_cast<unsigned char>(b[1])) << 8 |
           static_cast<uint32_t>(static_cast<unsigned char>(b[2])) << 16 |
           static_cast<uint32_t>(static_cast<unsigned char>(b[3])) << 24;
}

bool is_executable_file(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
           ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::string encode_job(const Job& job) {
    json j = {{"source", job.source},
              {"args", job.args},
              {"runtime_context", encode_context(job.runtime_context)},
              {"timeout_ms", job.timeout_ms},
              {"network_policy", job.network_policy}};
    return dump(j);
}

Expected<Job> decode_job(std::string_view text) {
    RTFS_TRY(json j, parse_object(text, "job"));
    if (!j.contains("source")) return protocol_error("job has no source");
    Job job;
    RTFS_CHECK(read_string(j, "source", job.source));
    RTFS_CHECK(read_strings(j, "args", job.args));
    RTFS_TRY(job.runtime_context, decode_context(j));
    RTFS_CHECK(read_u64(j, "timeout_ms", job.timeout_ms));
    RTFS_CHECK(read_string(j, "network_policy", job.network_policy));
    return job;
}

std::string encode_result(const Result& r) {
    json requests = json::array();
    for (const auto& q : r.effects.network_requests) {
        requests.push_back({{"url", q.url},
                            {"method", q.method},
                            {"status", q.status},
                            {"bytes", q.bytes},
                            {"error", q.error}});
    }
    json files = json::array();
    for (const auto& f : r.effects.file_operations) {
        files.push_back(
            {{"path", f.path}, {"operation", f.operation}, {"bytes", f.bytes}, {"error", f.error}});
    }
    json j = {{"ok", r.ok},
              {"value", r.value},
              {"error_kind", r.error_kind},
              {"error_message", r.error_message},
              {"effects", {{"network_requests", requests}, {"file_operations", files}}}};
    return dump(j);
}

Expected<Result> decode_result(std::string_view text) {
    RTFS_TRY(json j, parse_object(text, "result"));
    if (!j.contains("ok")) return protocol_error("result has no ok field");
    Result r;
    RTFS_CHECK(read_bool(j, "ok", r.ok));
    RTFS_CHECK(read_string(j, "value", r.value));
    RTFS_CHECK(read_string(j, "error_kind", r.error_kind));
    RTFS_CHECK(read_string(j, "error_message", r.error_message));
    RTFS_TRY(r.effects, decode_effects(j));
    return r;
}

std::string frame(std::string_view body) {
    const auto n = static_cast<uint32_t>(body.size());
    std::string out;
    out.reserve(4 + body.size());
    for (int shift = 0; shift < 32; shift += 8) out += static_cast<char>((n >> shift) & 0xFF);
    out.append(body);
    return out;
}

Expected<Result> unframe_result(std::string_view bytes) {
    if (bytes.empty()) return protocol_error("the guest wrote no result frame");
    if (bytes.size() < 4) {
        return protocol_error("truncated frame: " + std::to_string(bytes.size()) +
                              " bytes, the length prefix alone is 4");
    }
    const uint32_t n = read_le32(bytes);
    if (n > kMaxFrameBytes) {
        return protocol_error("frame of " + std::to_string(n) + " bytes exceeds the limit of " +
                              std::to_string(kMaxFrameBytes));
    }
    std::string_view body = bytes.substr(4);
    if (body.size() < n) {
        return protocol_error("truncated frame: " + std::to_string(body.size()) + " of " +
                              std::to_string(n) + " bytes");
    }
    if (body.size() > n) {
        return protocol_error(std::to_string(body.size() - n) +
                              " unexpected bytes after the result frame");
    }
    return decode_result(body);
}

GuestRunnerSearch default_guest_runner_search() {
    GuestRunnerSearch where;
    if (const char* env = std::getenv("MICROVM_GUEST"); env && *env) where.env = env;
    std::error_code ec;
    std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) where.executable_dir = self.parent_path().string();
#ifdef MICROVM_BUILD_GUEST_PATH
    where.build_path = MICROVM_BUILD_GUEST_PATH;
#endif
    return where;
}

Expected<std::string> find_guest_runner(const GuestRunnerSearch& where) {
    constexpr const char* kName = "microvm-guest";
    if (where.env) {
        // An explicit choice that does not work is an error, not a reason to pick another.
        if (is_executable_file(*where.env)) return *where.env;
        return fail(Failure::Kind::SetupError, "guest runner $MICROVM_GUEST=" + *where.env +
                                                   " is not an executable file");
    }
    std::vector<std::string> looked{"$MICROVM_GUEST (unset)"};
    if (!where.executable_dir.empty()) {
        std::filesystem::path dir = where.executable_dir;
        for (const auto& candidate : {dir / kName, dir.parent_path() / "guest" / kName}) {
            if (is_executable_file(candidate.string())) return candidate.string();
            looked.push_back(candidate.string());
        }
    }
    if (!where.build_path.empty()) {
        if (is_executable_file(where.build_path)) return where.build_path;
        looked.push_back(where.build_path);
    }
    return fail(Failure::Kind::SetupError,
                std::string("guest runner '") + kName +
                    "' not found; looked in: " + text::join(looked, ", "));
}

Expected<std::string> find_guest_runner() {
    return find_guest_runner(default_guest_runner_search());
}

}  // namespace microvm::guest
