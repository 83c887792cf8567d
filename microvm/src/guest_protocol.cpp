// The provider <-> guest runner wire format (see guest_protocol.hpp). Every decoder checks
// every type and never throws: the bytes come from inside a sandbox.
#include "microvm/guest_protocol.hpp"

#include <unistd.h>

#include <sys/stat.h>
#include <algorithm>
#include <cstdlib>
#include <limits>

#include <nlohmann/json.hpp>

#include "microvm/json_shape.hpp"
#include "microvm/trusted_path.hpp"
#include "rtfs/printer.hpp"
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

// What a message of the guest's needs at most: objects and arrays 4 deep (a result's
// effects: {"effects": {"network_requests": [{...}]}}), and a few thousand values (each list of
// records is at most rtfs::EffectLog::kMaxRecords long). A message beyond is refused before it
// is parsed: a parse builds a tree several times the size of its text (5 million "{}," made a
// host hold 3 GB), whatever the frame's byte limit allows.
constexpr int kMaxDepth = 16;
constexpr size_t kMaxValues = 100'000;
// No string longer than a printed value (decode_result checks it exactly once parsed), no number
// longer than a double's spelling: a 64 MiB frame of one of either took the host 4-6 s of CPU
// and ~590 MB in the parser's copies before it was refused (red team, 2026-12-06).
constexpr size_t kMaxString = rtfs::kMaxResultBytes + 3;
constexpr size_t kMaxToken = 32;
// Nor more string text in all than a result's largest: its value, its error message, and its
// effects records (each list full, every text field at its cut, with room for the keys). Four
// 16 MiB strings under keys the decoder ignores passed the longest-string check (review,
// 2026-12-06).
constexpr size_t kMaxRecordStrings = 3 * (rtfs::EffectLog::kMaxRecordText + 16) + 256;
constexpr size_t kMaxStrings = kMaxString + rtfs::kMaxErrorMessageBytes + rtfs::kBoundedMessageMark +
                               2 * rtfs::EffectLog::kMaxRecords * kMaxRecordStrings + (64 << 10);

// A message the host wrote (a job, Setup, Exec, Kill) or the guest wrote (the rest): the
// guest's are inside the sandbox's reach, and held to the limits above.
enum class From { Host, Guest };

Expected<json> parse_object(std::string_view text, const char* what, From from) {
    const JsonShape shape = from == From::Guest ? json_shape(text) : JsonShape{};
    if (shape.depth > kMaxDepth || shape.values > kMaxValues) {
        return protocol_error(std::string(what) + " nests deeper than " + std::to_string(kMaxDepth) +
                              " or holds more than " + std::to_string(kMaxValues) + " values");
    }
    if (shape.longest_string > kMaxString || shape.longest_token > kMaxToken) {
        return protocol_error(std::string(what) + " holds a string longer than " + std::to_string(kMaxString) +
                              " bytes or a number longer than " + std::to_string(kMaxToken) + " characters");
    }
    if (shape.strings > kMaxStrings) {
        return protocol_error(std::string(what) + " holds more than " + std::to_string(kMaxStrings) +
                              " bytes of strings");
    }
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

// The guest's records, bounded on the host's side as the host's own (rtfs::EffectLog::record):
// a guest's log is whatever the guest wrote.
Expected<rtfs::EffectLog> decode_effects(const json& obj) {
    rtfs::EffectLog log;
    auto it = obj.find("effects");
    if (it == obj.end()) return log;
    if (!it->is_object()) return protocol_error("effects must be an object");
    std::vector<rtfs::NetworkRequest> requests;
    std::vector<rtfs::FileOperation> files;
    RTFS_CHECK(read_array(*it, "network_requests", decode_request, requests));
    RTFS_CHECK(read_array(*it, "file_operations", decode_file_operation, files));
    for (auto& r : requests) log.record(std::move(r));
    for (auto& f : files) log.record(std::move(f));
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

json job_object(const Job& job) {
    return {{"source", job.source},
            {"args", job.args},
            {"runtime_context", encode_context(job.runtime_context)},
            {"timeout_ms", job.timeout_ms},
            {"network_policy", job.network_policy}};
}

Expected<Job> job_from(const json& j) {
    if (!j.contains("source")) return protocol_error("job has no source");
    Job job;
    RTFS_CHECK(read_string(j, "source", job.source));
    RTFS_CHECK(read_strings(j, "args", job.args));
    RTFS_TRY(job.runtime_context, decode_context(j));
    RTFS_CHECK(read_u64(j, "timeout_ms", job.timeout_ms));
    RTFS_CHECK(read_string(j, "network_policy", job.network_policy));
    return job;
}

}  // namespace

std::string encode_job(const Job& job) { return dump(job_object(job)); }

Expected<Job> decode_job(std::string_view text) {
    RTFS_TRY(json j, parse_object(text, "job", From::Host));
    return job_from(j);
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
              {"error_message", rtfs::bounded_message(r.error_message)},
              {"effects", {{"network_requests", requests}, {"file_operations", files}}}};
    return dump(j);
}

Expected<Result> decode_result(std::string_view text) {
    RTFS_TRY(json j, parse_object(text, "result", From::Guest));
    if (!j.contains("ok")) return protocol_error("result has no ok field");
    Result r;
    RTFS_CHECK(read_bool(j, "ok", r.ok));
    RTFS_CHECK(read_string(j, "value", r.value));
    // A guest prints at most kMaxResultBytes of a value, then "...": a longer one comes from a
    // program that took the runtime over, and costs the host its parse and copies (red team,
    // 2026-12-04: 60 MiB values, seconds of the daemon's CPU each).
    if (r.value.size() > rtfs::kMaxResultBytes + 3) {
        return protocol_error("result value of " + std::to_string(r.value.size()) +
                              " bytes, longer than a guest prints (" + std::to_string(rtfs::kMaxResultBytes) + ")");
    }
    RTFS_CHECK(read_string(j, "error_kind", r.error_kind));
    RTFS_CHECK(read_string(j, "error_message", r.error_message));
    // A guest bounds its messages (rtfs::bounded_message): a longer one, or an error kind longer
    // than any name, comes from a program that took the runtime over.
    if (r.error_message.size() > rtfs::kMaxErrorMessageBytes + rtfs::kBoundedMessageMark || r.error_kind.size() > 256) {
        return protocol_error("result error of " + std::to_string(r.error_kind.size() + r.error_message.size()) +
                              " bytes, longer than a guest reports (" + std::to_string(rtfs::kMaxErrorMessageBytes) + ")");
    }
    RTFS_TRY(r.effects, decode_effects(j));
    return r;
}

const char* to_string(Exec::Kind kind) {
    switch (kind) {
        case Exec::Kind::Rtfs: return "rtfs";
        case Exec::Kind::Program: return "program";
        case Exec::Kind::Script: return "script";
    }
    return "?";
}

std::string encode_hello(const Hello& h) {
    return dump({{"protocol", h.protocol}, {"agent", h.agent}, {"kinds", h.kinds}});
}

Expected<Hello> decode_hello(std::string_view text) {
    RTFS_TRY(json j, parse_object(text, "Hello", From::Guest));
    Hello h;
    uint64_t protocol = 0;
    RTFS_CHECK(read_u64(j, "protocol", protocol));
    if (protocol != agent::kProtocolVersion) {
        return protocol_error("the agent speaks protocol " + std::to_string(protocol) +
                              ", this host speaks " + std::to_string(agent::kProtocolVersion));
    }
    h.protocol = agent::kProtocolVersion;
    RTFS_CHECK(read_string(j, "agent", h.agent));
    RTFS_CHECK(read_strings(j, "kinds", h.kinds));
    return h;
}

std::string encode_exec(const Exec& e) {
    json j = {{"kind", to_string(e.kind)}};
    switch (e.kind) {
        case Exec::Kind::Rtfs:
            j["job"] = job_object(e.job);
            if (e.memory_max_bytes) j["memory_max_bytes"] = e.memory_max_bytes;
            if (e.max_processes) j["max_processes"] = e.max_processes;
            if (e.warmup) j["warmup"] = true;
            return dump(j);
        case Exec::Kind::Program: j["argv"] = e.argv; break;
        case Exec::Kind::Script:
            j["language"] = e.language;
            j["source"] = e.source;
            j["args"] = e.args;
            break;
    }
    j["env"] = e.env;
    j["cwd"] = e.cwd;
    j["stdin"] = e.stdin_frames;
    if (e.memory_max_bytes) j["memory_max_bytes"] = e.memory_max_bytes;
    if (e.max_processes) j["max_processes"] = e.max_processes;
    if (e.warmup) j["warmup"] = true;  // absent otherwise: older agents' Exec unchanged
    return dump(j);
}

Expected<Exec> decode_exec(std::string_view text) {
    RTFS_TRY(json j, parse_object(text, "Exec", From::Host));
    std::string kind;
    RTFS_CHECK(read_string(j, "kind", kind));
    Exec e;
    if (kind == "rtfs") {
        e.kind = Exec::Kind::Rtfs;
        auto job = j.find("job");
        if (job == j.end() || !job->is_object()) return protocol_error("Exec rtfs has no job object");
        RTFS_TRY(e.job, job_from(*job));
        RTFS_CHECK(read_u64(j, "memory_max_bytes", e.memory_max_bytes));
        RTFS_CHECK(read_u64(j, "max_processes", e.max_processes));
        RTFS_CHECK(read_bool(j, "warmup", e.warmup));
        return e;
    }
    if (kind == "program") {
        e.kind = Exec::Kind::Program;
        RTFS_CHECK(read_strings(j, "argv", e.argv));
        if (e.argv.empty() || e.argv[0].empty()) return protocol_error("Exec program has no argv[0]");
    } else if (kind == "script") {
        e.kind = Exec::Kind::Script;
        RTFS_CHECK(read_string(j, "language", e.language));
        RTFS_CHECK(read_string(j, "source", e.source));
        RTFS_CHECK(read_strings(j, "args", e.args));
    } else {
        return protocol_error("Exec kind must be rtfs, program or script");
    }
    RTFS_CHECK(read_strings(j, "env", e.env));
    RTFS_CHECK(read_string(j, "cwd", e.cwd));
    RTFS_CHECK(read_bool(j, "stdin", e.stdin_frames));
    RTFS_CHECK(read_u64(j, "memory_max_bytes", e.memory_max_bytes));
    RTFS_CHECK(read_u64(j, "max_processes", e.max_processes));
    RTFS_CHECK(read_bool(j, "warmup", e.warmup));
    if (e.cwd.empty() || e.cwd.front() != '/') return protocol_error("Exec cwd must be absolute");
    return e;
}

std::string encode_exit(const ExitStatus& e) {
    json j = json::object();
    if (e.signal) j["signal"] = *e.signal;
    else j["exit_code"] = e.exit_code.value_or(0);
    return dump(j);
}

Expected<ExitStatus> decode_exit(std::string_view text) {
    RTFS_TRY(json j, parse_object(text, "Exit", From::Guest));
    ExitStatus e;
    if (j.contains("exit_code") == j.contains("signal")) {
        return protocol_error("Exit holds exactly one of exit_code and signal");
    }
    int value = 0;
    if (j.contains("exit_code")) {
        RTFS_CHECK(read_int(j, "exit_code", value));
        if (value < 0 || value > 255) return protocol_error("Exit exit_code must be 0..255");
        e.exit_code = value;
    } else {
        RTFS_CHECK(read_int(j, "signal", value));
        if (value < 1 || value > 64) return protocol_error("Exit signal must be 1..64");
        e.signal = value;
    }
    return e;
}

std::string encode_usage(const Usage& u) {
    return dump({{"cpu_user_us", u.cpu_user_us},
                 {"cpu_system_us", u.cpu_system_us},
                 {"peak_memory_bytes", u.peak_memory_bytes},
                 {"wall_us", u.wall_us},
                 {"oom_killed", u.oom_killed}});
}

Expected<Usage> decode_usage(std::string_view text) {
    RTFS_TRY(json j, parse_object(text, "Usage", From::Guest));
    Usage u;
    RTFS_CHECK(read_u64(j, "cpu_user_us", u.cpu_user_us));
    RTFS_CHECK(read_u64(j, "cpu_system_us", u.cpu_system_us));
    RTFS_CHECK(read_u64(j, "peak_memory_bytes", u.peak_memory_bytes));
    RTFS_CHECK(read_u64(j, "wall_us", u.wall_us));
    RTFS_CHECK(read_bool(j, "oom_killed", u.oom_killed));
    return u;
}

std::string encode_setup(const Setup& s) {
    json shares = json::array();
    for (const Share& sh : s.shares) {
        shares.push_back({{"tag", sh.tag}, {"path", sh.path}, {"writable", sh.writable}});
    }
    json j = {{"realtime_ns", s.realtime_ns},
              {"seed", s.seed_hex},
              {"shares", shares},
              {"network", s.network}};
    if (s.proxy_only) j["proxy_only"] = true;  // absent otherwise: older agents' Setup unchanged
    if (s.program_uid) j["program_uid"] = s.program_uid;
    return dump(j);
}

namespace {

bool is_hex(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    });
}

// A share's mount point: absolute, no "." / ".." / empty component (the guest creates it).
bool is_clean_absolute(std::string_view p) {
    if (p.empty() || p.front() != '/' || p.find('\0') != std::string_view::npos) return false;
    if (p == "/") return false;
    size_t i = 1;
    while (i <= p.size()) {
        size_t end = p.find('/', i);
        if (end == std::string_view::npos) end = p.size();
        std::string_view part = p.substr(i, end - i);
        if (part.empty() || part == "." || part == "..") return false;
        i = end + 1;
    }
    return true;
}

}  // namespace

Expected<Setup> decode_setup(std::string_view text) {
    RTFS_TRY(json j, parse_object(text, "Setup", From::Host));
    Setup s;
    RTFS_CHECK(read_u64(j, "realtime_ns", s.realtime_ns));
    RTFS_CHECK(read_string(j, "seed", s.seed_hex));
    if (s.seed_hex.size() % 2 != 0 || s.seed_hex.size() > 1024 || !is_hex(s.seed_hex)) {
        return protocol_error("Setup seed must be lower-case hex of at most 512 bytes");
    }
    RTFS_CHECK(read_bool(j, "network", s.network));
    RTFS_CHECK(read_bool(j, "proxy_only", s.proxy_only));
    if (s.proxy_only && !s.network) return protocol_error("Setup proxy_only needs network");
    uint64_t program_uid = 0;
    RTFS_CHECK(read_u64(j, "program_uid", program_uid));
    if (program_uid >= 0xffffffffu) return protocol_error("Setup program_uid must be a uid below 2^32 - 1");
    s.program_uid = static_cast<uint32_t>(program_uid);
    auto shares = j.find("shares");
    if (shares != j.end()) {
        if (!shares->is_array() || shares->size() > 64) {
            return protocol_error("Setup shares must be an array of at most 64 objects");
        }
        for (const json& item : *shares) {
            if (!item.is_object()) return protocol_error("Setup share must be an object");
            Share sh;
            RTFS_CHECK(read_string(item, "tag", sh.tag));
            RTFS_CHECK(read_string(item, "path", sh.path));
            RTFS_CHECK(read_bool(item, "writable", sh.writable));
            if (sh.tag.empty() || sh.tag.size() > 31 ||
                !std::all_of(sh.tag.begin(), sh.tag.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                })) {
                return protocol_error("Setup share tag must be 1-31 of [a-z0-9_]");
            }
            if (!is_clean_absolute(sh.path) || sh.path.size() > 4096) {
                return protocol_error("Setup share path '" + sh.path +
                                      "' must be absolute, not /, without . or .. parts");
            }
            s.shares.push_back(std::move(sh));
        }
    }
    return s;
}

std::string encode_ready(const Ready& r) { return dump({{"kernel", r.kernel}}); }

Expected<Ready> decode_ready(std::string_view text) {
    RTFS_TRY(json j, parse_object(text, "Ready", From::Guest));
    Ready r;
    RTFS_CHECK(read_string(j, "kernel", r.kernel));
    return r;
}

std::string encode_kill(const KillRequest& k) { return dump({{"signal", k.signal}}); }

Expected<KillRequest> decode_kill(std::string_view text) {
    KillRequest k;
    if (text.empty()) return k;  // SIGKILL
    RTFS_TRY(json j, parse_object(text, "Kill", From::Host));
    RTFS_CHECK(read_int(j, "signal", k.signal));
    if (k.signal < 1 || k.signal > 64) return protocol_error("Kill signal must be 1..64");
    return k;
}

std::string encode_agent_error(const AgentError& e) {
    return dump({{"reason", to_string(e.reason)}, {"message", e.message}});
}

Expected<AgentError> decode_agent_error(std::string_view text) {
    RTFS_TRY(json j, parse_object(text, "Error", From::Guest));
    std::string reason;
    AgentError e;
    RTFS_CHECK(read_string(j, "reason", reason));
    RTFS_CHECK(read_string(j, "message", e.message));
    bool known = false;
    for (Reason r : {Reason::ProgramNotFound, Reason::NotExecutable, Reason::ExecFailed,
                     Reason::InvalidProgram, Reason::SetupError}) {
        if (reason == to_string(r)) {
            e.reason = r;
            known = true;
        }
    }
    if (!known) return protocol_error("Error reason '" + reason + "' is not one an agent gives");
    return e;
}

std::string exec_frame(const Job& job) {
    Exec e;
    e.job = job;
    return agent::encode_frame(agent::FrameType::Exec, encode_exec(e));
}

std::string result_frame(const Result& r) {
    return agent::encode_frame(agent::FrameType::Result, encode_result(r));
}

namespace {

// The one frame of type `type` that bytes must hold, and nothing else.
Expected<std::string> only_frame(std::string_view bytes, agent::FrameType type) {
    const char* name = agent::type_name(type);
    if (bytes.empty()) return protocol_error(std::string("no ") + name + " frame");
    agent::FrameDecoder decoder;
    decoder.feed(bytes);
    agent::Frame frame;
    switch (decoder.next(frame)) {
        case agent::FrameDecoder::Status::Malformed: return protocol_error(decoder.error());
        case agent::FrameDecoder::Status::NeedMore:
            return protocol_error("truncated frame: " + std::to_string(bytes.size()) +
                                  " bytes where a whole " + name + " frame was expected");
        case agent::FrameDecoder::Status::Ready: break;
    }
    if (frame.type != type) {
        return protocol_error(std::string(agent::type_name(frame.type)) + " frame where the " +
                              name + " frame was expected");
    }
    if (decoder.pending() > 0) {
        return protocol_error(std::to_string(decoder.pending()) + " unexpected bytes after the " +
                              name + " frame");
    }
    return std::move(frame.payload);
}

}  // namespace

Expected<Exec> read_exec_frame(std::string_view bytes) {
    RTFS_TRY(std::string payload, only_frame(bytes, agent::FrameType::Exec));
    return decode_exec(payload);
}

Expected<Result> read_result_frame(std::string_view bytes) {
    RTFS_TRY(std::string payload, only_frame(bytes, agent::FrameType::Result));
    return decode_result(payload);
}

Expected<std::string> find_guest_runner(const ProgramSearch& where) {
    return find_built_executable(kGuestRunner, where, "guest runner");
}

Expected<std::string> find_guest_runner() {
    return find_guest_runner(default_search(kGuestRunner));
}

}  // namespace microvm::guest
