#include "engine_process.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstring>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine_limits.hpp"
#include "fd_table.hpp"
#include "module_codec.hpp"
#include "module_compiler.hpp"
#include "host/confined_fork.hpp"
#include "microvm/capped_text.hpp"
#include "microvm/errors.hpp"
#include "rtfs/effects.hpp"
#include "rtfs/host/curl_library.hpp"

namespace microvm::wasm {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr uint8_t kStdoutTag = 1;
constexpr uint8_t kStderrTag = 2;
constexpr std::string_view kCodecKey = "engine-process";
// The largest compiled module a child sends back for the cache, per byte of source (the decoded
// instruction stream is a few times the binary); a larger one is simply not cached.
constexpr size_t kCompiledPerSourceByte = 16;

// Files libcurl reads when the module may fetch: its libraries (loaded on first use), the CA
// certificates, the resolver's configuration. None is a secret; each is read-only to the child.
const std::vector<std::string>& fetch_support_paths() {
    static const std::vector<std::string> paths = {
        "/usr/lib", "/lib", "/lib64", "/etc/ld.so.cache", "/etc/ssl", "/usr/share/ca-certificates",
        "/etc/ca-certificates", "/etc/pki", "/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf",
        "/etc/gai.conf", "/etc/host.conf", "/etc/services", "/etc/gnutls"};
    return paths;
}

// The egress proxy's Unix socket ("socks5h://localhost/PATH", host/egress.hpp), connected in the
// host for the child; invalid when it is not that form or the connect fails.
host::UniqueFd proxy_connection(const std::string& http_proxy) {
    constexpr std::string_view kForm = "socks5h://localhost/";
    if (!http_proxy.starts_with(kForm)) return {};
    const std::string path = http_proxy.substr(kForm.size() - 1);
    struct sockaddr_un addr {};
    if (path.size() >= sizeof addr.sun_path) return {};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    host::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid() || ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return {};
    return fd;
}

host::ChildRules child_rules(const MicroVMConfig& config, const RunRequest& request) {
    using Access = host::landlock::Access;
    host::ChildRules rules;
    const FileSystemPolicy& fs = config.fs_policy;
    switch (fs.kind) {
        case FileSystemPolicy::Kind::None:
            break;
        case FileSystemPolicy::Kind::Full:
            rules.files_unrestricted = true;
            break;
        case FileSystemPolicy::Kind::ReadOnly:
            for (const std::string& p : fs.paths.empty() ? wasi_system_dirs() : fs.paths) {
                rules.paths.push_back({p, Access::Read});
            }
            break;
        case FileSystemPolicy::Kind::ReadWrite:
            for (const std::string& p : fs.paths) rules.paths.push_back({p, Access::ReadWrite});
            for (const std::string& p : fs.read_only_paths) rules.paths.push_back({p, Access::Read});
            break;
    }
    const NetworkPolicy& net = config.network_policy;
    if (net.kind != NetworkPolicy::Kind::Denied) {
        // Under allow/block lists no socket of its own: the host hands it each connection to
        // the egress proxy (proxy_connection below).
        if (request.http_proxy.empty()) rules.sockets = host::ChildRules::Sockets::Internet;
        for (const std::string& p : fetch_support_paths()) rules.paths.push_back({p, Access::Read});
    }
    rules.memory_bytes = 2 * (config.memory_limit_mb << 20) + kInterpreterAllowance;
    return rules;
}

// The outcome as the child reports it, with the module it compiled if any; output went ahead as
// messages, so it is not repeated.
std::string encode(const RunOutcome& o, const std::optional<std::string>& compiled = std::nullopt) {
    const ExecutionMetadata& m = o.metadata;
    json records = json::array();
    for (const rtfs::NetworkRequest& r : m.network_requests) {
        records.push_back({r.url, r.method, r.status, r.bytes, r.error});
    }
    json doc = {{"failure", o.failure ? json(static_cast<int>(*o.failure)) : json(nullptr)},
                {"message", o.error_message},
                {"exit_code", m.exit_code ? json(*m.exit_code) : json(nullptr)},
                {"memory_peak_mb", m.memory_peak_mb ? json(*m.memory_peak_mb) : json(nullptr)},
                {"stdout_truncated", m.stdout_truncated},
                {"stderr_truncated", m.stderr_truncated},
                {"records", std::move(records)},
                {"result", json::binary_t(std::vector<uint8_t>(o.result_bytes.begin(), o.result_bytes.end()))},
                {"result_truncated", o.result_truncated}};
    if (compiled) doc["compiled"] = json::binary_t(std::vector<uint8_t>(compiled->begin(), compiled->end()));
    std::vector<uint8_t> bytes = json::to_cbor(doc);
    return std::string(bytes.begin(), bytes.end());
}

// The child's report, read as hostile input: every field checked for its type and range.
std::optional<RunOutcome> decode(const std::string& report, std::shared_ptr<const CompiledModule>& compiled) {
    json doc = json::from_cbor(report, /*strict=*/true, /*allow_exceptions=*/false);
    if (!doc.is_object()) return std::nullopt;
    auto field = [&doc](const char* key) -> const json* {
        auto it = doc.find(key);
        return it == doc.end() ? nullptr : &*it;
    };
    const json* failure = field("failure");
    const json* message = field("message");
    const json* exit_code = field("exit_code");
    const json* memory = field("memory_peak_mb");
    const json* out_cut = field("stdout_truncated");
    const json* err_cut = field("stderr_truncated");
    const json* records = field("records");
    const json* result = field("result");
    const json* result_cut = field("result_truncated");
    if (!failure || !message || !exit_code || !memory || !out_cut || !err_cut || !records || !result ||
        !result_cut) {
        return std::nullopt;
    }
    if (!(failure->is_null() || failure->is_number_integer()) || !message->is_string() ||
        !(exit_code->is_null() || exit_code->is_number_integer()) ||
        !(memory->is_null() || memory->is_number()) || !out_cut->is_boolean() || !err_cut->is_boolean() ||
        !records->is_array() || records->size() > rtfs::EffectLog::kMaxRecords || !result->is_binary() ||
        !result_cut->is_boolean()) {
        return std::nullopt;
    }
    RunOutcome o;
    if (failure->is_number_integer()) {
        const int64_t reason = failure->get<int64_t>();
        if (reason < 0 || reason > static_cast<int64_t>(kLastReason)) return std::nullopt;
        o.failure = static_cast<Reason>(reason);
    }
    o.error_message = message->get<std::string>();
    if (exit_code->is_number_integer()) {
        const int64_t code = exit_code->get<int64_t>();
        if (code < INT32_MIN || code > INT32_MAX) return std::nullopt;
        o.metadata.exit_code = static_cast<int>(code);
    }
    if (memory->is_number()) o.metadata.memory_peak_mb = memory->get<double>();
    o.metadata.stdout_truncated = out_cut->get<bool>();
    o.metadata.stderr_truncated = err_cut->get<bool>();
    // Already bounded by the child (rtfs::record_bounded: its last record may count those left
    // out), so taken as they are, within the same bounds.
    for (const json& item : *records) {
        if (!item.is_array() || item.size() != 5 || !item[0].is_string() || !item[1].is_string() ||
            !item[2].is_number_integer() || !item[3].is_number_unsigned() || !item[4].is_string()) {
            return std::nullopt;
        }
        rtfs::NetworkRequest r;
        r.url = item[0].get<std::string>();
        r.method = item[1].get<std::string>();
        r.status = static_cast<int>(std::clamp<int64_t>(item[2].get<int64_t>(), 0, 999));
        r.bytes = item[3].get<uint64_t>();
        r.error = item[4].get<std::string>();
        if (r.url.size() > rtfs::EffectLog::kMaxRecordText || r.method.size() > rtfs::EffectLog::kMaxRecordText ||
            r.error.size() > rtfs::EffectLog::kMaxRecordText) {
            return std::nullopt;
        }
        // The child's word: a module that took the interpreter over could write anything here.
        r.reported_by_sandbox = true;
        o.metadata.network_requests.push_back(std::move(r));
    }
    const auto& bytes = result->get_binary();
    o.result_bytes.assign(bytes.begin(), bytes.end());
    o.result_truncated = result_cut->get<bool>();
    if (const json* module = field("compiled"); module && module->is_binary()) {
        const auto& bytes = module->get_binary();
        compiled = decode_module({reinterpret_cast<const char*>(bytes.data()), bytes.size()}, kCodecKey);
    }
    return o;
}

std::string confinement_text(const host::ConfinedRun& run, const host::ChildRules& rules) {
    std::string text = "forked child; seccomp";
    text += run.landlocked ? "; landlock" : "; no landlock (the kernel has none)";
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    text += "; no address-space limit (sanitizer build)";
#else
    text += "; address space +" + std::to_string(rules.memory_bytes >> 20) + " MiB";
#endif
    return text;
}

}  // namespace

ConfinedRunOutcome run_module_confined(const CompiledModule* module, std::span<const uint8_t> source,
                                       const MicroVMConfig& config, const RunRequest& request) {
    const Clock::time_point started = Clock::now();
    const Clock::time_point deadline = request.deadline.value_or(started + config.timeout);
    CappedText out(config.max_output_bytes), err(config.max_output_bytes);

    host::ConfinedCall call;
    call.rules = child_rules(config, request);
    // libcurl loaded here, before the fork: a dlopen in the child could wait forever on the
    // loader's lock, held at the fork by another of the host's threads. (Its failure, if any, is
    // the child's to report on the first fetch.)
    if (call.rules.sockets != host::ChildRules::Sockets::None) (void)rtfs::host::curl_library();
    call.kill_at = deadline + kDeadlineGrace;
    call.cancel = request.cancel;
    const size_t max_compiled = module ? 0 : kCompiledPerSourceByte * source.size() + (1u << 20);
    // The result, the records, the rest, and the compiled module.
    call.max_report = request.result_cap + (4u << 20) + max_compiled;
    // Opened in the child before it is confined: the checks of a policy path use openat2, which
    // the confined child has not (its mode is beyond a filter's sight).
    std::optional<Expected<FdTable>> preopens;
    call.prepare = [&] { preopens.emplace(open_preopens(config.fs_policy, request.result_sink)); };
    if (!request.http_proxy.empty()) {
        call.on_connect_request = [&request] { return proxy_connection(request.http_proxy); };
    }
    call.body = [&](host::ChildChannel& channel) {
        RunRequest inside = request;
        if (!request.http_proxy.empty()) inside.proxy_socket = [&channel] { return channel.request_socket(); };
        inside.cancel = nullptr;  // the host's flag is not in this process: the host kills it
        inside.deadline = deadline;
        inside.on_output = [&channel](OutputStream stream, std::string_view chunk) {
            const uint8_t tag = stream == OutputStream::Stdout ? kStdoutTag : kStderrTag;
            while (!chunk.empty()) {
                const size_t n = std::min(chunk.size(), host::ChildChannel::kMaxMessage);
                channel.send(tag, chunk.substr(0, n));
                chunk.remove_prefix(n);
            }
        };
        if (module) return encode(run_module(*module, config, inside, std::move(*preopens)));
        auto compiled = compile_module(source);
        if (!compiled) {
            RunOutcome refused;
            refused.failure = Reason::InvalidProgram;
            refused.error_message = compiled.error().message;
            return encode(refused);
        }
        std::optional<std::string> handed_back = encode_module(**compiled, kCodecKey);
        if (handed_back && handed_back->size() > max_compiled) handed_back.reset();
        return encode(run_module(**compiled, config, inside, std::move(*preopens)), handed_back);
    };
    call.on_message = [&](uint8_t tag, std::string_view bytes) {
        if (tag != kStdoutTag && tag != kStderrTag) return;
        CappedText& sink = tag == kStdoutTag ? out : err;
        std::string_view kept = sink.append(bytes);
        if (request.on_output && !kept.empty()) {
            request.on_output(tag == kStdoutTag ? OutputStream::Stdout : OutputStream::Stderr, kept);
        }
    };
    host::ConfinedRun run = host::run_confined(call);

    ConfinedRunOutcome confined;
    RunOutcome& outcome = confined.outcome;
    std::optional<RunOutcome> reported;
    if (run.ended == host::ConfinedRun::Ended::Reported) reported = decode(run.report, confined.compiled);
    if (reported) {
        outcome = std::move(*reported);
    } else if (run.ended == host::ConfinedRun::Ended::Deadline) {
        outcome.failure = Reason::Timeout;
        outcome.error_message = reason_message(Reason::Timeout, config);
    } else if (run.ended == host::ConfinedRun::Ended::Cancelled) {
        outcome.failure = Reason::Cancelled;
        outcome.error_message = reason_message(Reason::Cancelled, config);
    } else if (run.exit && WIFSIGNALED(run.exit->wait_status)) {
        outcome.failure = Reason::Signaled;
        outcome.metadata.signal = WTERMSIG(run.exit->wait_status);
        outcome.error_message = "the engine's process " + host::describe_wait_status(run.exit->wait_status) +
                                " (a fault in the interpreter, contained in its process)";
    } else {
        outcome.failure = Reason::GuestProtocol;
        outcome.error_message = "the engine's process ended without a valid report: " +
                                (run.problem.empty() ? std::string("malformed report") : run.problem);
    }
    ExecutionMetadata& meta = outcome.metadata;
    meta.stdout_truncated = meta.stdout_truncated || out.truncated();
    meta.stderr_truncated = meta.stderr_truncated || err.truncated();
    meta.stdout_data = out.take();
    meta.stderr_data = err.take();
    if (run.exit) meta.cpu_time = host::cpu_time_of(run.exit->usage);
    meta.duration = Clock::now() - started;
    meta.isolation = Isolation::Wasm;
    meta.provider_details["engine_process"] = confinement_text(run, call.rules);
    if (!reported) confined.compiled.reset();
    return confined;
}

}  // namespace microvm::wasm
