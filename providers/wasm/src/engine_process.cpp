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

#include "engine_limits.hpp"
#include "engine_report.hpp"
#include "fd_table.hpp"
#include "module_codec.hpp"
#include "module_compiler.hpp"
#include "host/confined_fork.hpp"
#include "microvm/capped_text.hpp"
#include "microvm/errors.hpp"
#include "rtfs/effects.hpp"
#include "rtfs/host/curl_library.hpp"
#include "rtfs/host/http_transfer.hpp"

namespace microvm::wasm {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint8_t kStdoutTag = 1;
constexpr uint8_t kStderrTag = 2;
constexpr std::string_view kCodecKey = "engine-process";
// The largest compiled module the compiler's process sends back, per byte of source (the decoded
// instruction stream is about twice the binary); a larger one is compiled in each run's child.
// It bounds what the host's decoder builds from a forged one too (empty types: 8 bytes each on
// the wire, 64 decoded; red team, 2026-12-07).
constexpr size_t kCompiledPerSourceByte = 4;
// Bounds the compiler's own work (module_size_guard.hpp bounds what a module can ask of it).
constexpr std::chrono::seconds kCompileDeadline{60};
constexpr uint64_t kCompilerAllowance = 1ull << 30;
constexpr char kCompiledTag = 'C';    // then the module in the codec's form
constexpr char kNotCarriedTag = 'N';  // valid; the codec does not carry it
constexpr char kInvalidTag = 'I';     // then the compiler's message
// Connections to the egress proxy the host makes for one run's child.
constexpr size_t kMaxProxyConnections = 4096;

// Files libcurl reads when the module may fetch: its libraries (loaded on first use), the CA
// certificates, the resolver's configuration. None is a secret (/etc/ssl/private is not among
// them: red team, 2026-12-07); each is read-only to the child.
const std::vector<std::string>& fetch_support_paths() {
    static const std::vector<std::string> paths = {
        "/usr/lib", "/lib", "/lib64", "/etc/ld.so.cache", "/etc/ssl/certs", "/usr/share/ca-certificates",
        "/etc/ca-certificates", "/etc/pki", "/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf",
        "/etc/gai.conf", "/etc/host.conf", "/etc/services", "/etc/gnutls"};
    return paths;
}

// The egress proxy's Unix socket ("socks5h://localhost/PATH", host/egress.hpp), connected in the
// host for the child; invalid when it is not that form or the connect fails.
host::UniqueFd proxy_connection(const std::string& http_proxy) {
    const std::string path = rtfs::host::unix_socket_of_proxy(http_proxy);
    struct sockaddr_un addr {};
    if (path.empty()) return {};
    if (path.size() >= sizeof addr.sun_path) return {};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    // Non-blocking: a proxy whose backlog is full refuses (EAGAIN) instead of holding the host's
    // wait loop, and with it the child's deadline (review, 2026-12-07).
    host::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.valid() || ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return {};
    return fd;
}

// The child's rules but for the preopens, which preopen_rules adds from the directories opened.
host::ChildRules child_rules(const MicroVMConfig& config, const RunRequest& request) {
    using Access = host::landlock::Access;
    host::ChildRules rules;
    rules.files_unrestricted = config.fs_policy.kind == FileSystemPolicy::Kind::Full;
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

// Landlock rules on the preopens as opened and checked (open_preopens), never on their paths
// again: a policy path the checks refuse (/, /proc, a writable one holding trusted state) is in
// no rule, and one replaced by a symlink since its check is not followed (red team, 2026-12-07).
void add_preopen_rules(FdTable& table, host::ChildRules& rules) {
    for (uint32_t fd = 0; fd < limits::kMaxOpenFiles; ++fd) {
        const FdEntry* e = table.get(fd);
        if (!e || e->kind != FdKind::Directory) continue;
        rules.paths.push_back({e->preopen_name,
                               e->read_only_tree ? host::landlock::Access::Read : host::landlock::Access::ReadWrite,
                               e->host.get()});
    }
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

RunOutcome run_module_confined(const CompiledModule* module, std::span<const uint8_t> source,
                               const MicroVMConfig& config, const RunRequest& request) {
    const Clock::time_point started = Clock::now();
    const Clock::time_point deadline = request.deadline.value_or(started + config.timeout);
    CappedText out(config.max_output_bytes), err(config.max_output_bytes);

    host::ConfinedCall call;
    call.rules = child_rules(config, request);
    // libcurl loaded here, before the fork: a dlopen in the child could wait forever on the
    // loader's lock, held at the fork by another of the host's threads. (Its failure, if any, is
    // the child's to report on the first fetch.)
    if (config.network_policy.kind != NetworkPolicy::Kind::Denied) (void)rtfs::host::curl_library();
    call.kill_at = deadline + kDeadlineGrace;
    call.cancel = request.cancel;
    // The result, the records (at most 1024 of three texts of 4 KiB), the message.
    call.max_report = request.result_cap + (16u << 20);
    // Opened in the child before it is confined: the checks of a policy path use openat2, which
    // the confined child has not (its mode is beyond a filter's sight).
    std::optional<Expected<FdTable>> preopens;
    call.prepare = [&](host::ChildRules& rules) {
        preopens.emplace(open_preopens(config.fs_policy, request.result_sink));
        if (*preopens && !rules.files_unrestricted) add_preopen_rules(**preopens, rules);
    };
    size_t connections = 0;
    if (!request.http_proxy.empty()) {
        call.on_connect_request = [&request, &connections] {
            // The proxy bounds connections per execution too; this bounds the host's work.
            if (++connections > kMaxProxyConnections) return host::UniqueFd();
            return proxy_connection(request.http_proxy);
        };
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
        if (!*preopens) {  // a refused policy: nothing of the module is compiled or run
            RunOutcome refused;
            refused.failure = Reason::InvalidConfig;
            refused.error_message = preopens->error().message;
            return encode_report(refused);
        }
        if (module) return encode_report(run_module(*module, config, inside, std::move(*preopens)));
        auto compiled = compile_module(source);
        if (!compiled) {
            RunOutcome refused;
            refused.failure = Reason::InvalidProgram;
            refused.error_message = compiled.error().message;
            return encode_report(refused);
        }
        return encode_report(run_module(**compiled, config, inside, std::move(*preopens)));
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

    RunOutcome outcome;
    std::optional<RunOutcome> reported;
    if (run.ended == host::ConfinedRun::Ended::Reported) reported = decode_report(run.report, request.result_cap);
    if (reported) {
        outcome = std::move(*reported);
    } else if (run.ended == host::ConfinedRun::Ended::Deadline) {
        outcome.failure = Reason::Timeout;
        outcome.error_message = reason_message(Reason::Timeout, config);
    } else if (run.ended == host::ConfinedRun::Ended::Cancelled) {
        outcome.failure = Reason::Cancelled;
        outcome.error_message = reason_message(Reason::Cancelled, config);
    } else if (run.failure == host::ConfinedRun::Failure::Setup) {
        outcome.failure = Reason::SetupError;
        outcome.error_message = "the engine's process could not be set up: " + run.problem;
    } else if (run.failure == host::ConfinedRun::Failure::Died && run.exit && WIFSIGNALED(run.exit->wait_status)) {
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
    return outcome;
}

rtfs::Expected<std::shared_ptr<const CompiledModule>, CompileRefusal> compile_module_confined(
    std::span<const uint8_t> bytes, Clock::time_point deadline, const std::atomic<bool>* cancel,
    std::chrono::nanoseconds& cpu_time) {
    auto refused = [](Reason reason, std::string message) {
        return rtfs::unexpected(CompileRefusal{reason, std::move(message)});
    };
    host::ConfinedCall call;
    call.rules.memory_bytes = kCompilerAllowance;
    call.kill_at = std::min(deadline, Clock::now() + kCompileDeadline);
    call.cancel = cancel;
    const size_t max_compiled = kCompiledPerSourceByte * bytes.size() + (1u << 20);
    call.max_report = max_compiled + 1;
    call.body = [bytes, max_compiled](host::ChildChannel&) -> std::string {
        auto compiled = compile_module(bytes);
        if (!compiled) return kInvalidTag + compiled.error().message.substr(0, kMaxReportMessage);
        auto encoded = encode_module(**compiled, kCodecKey);
        if (!encoded || encoded->size() > max_compiled) return std::string(1, kNotCarriedTag);
        return kCompiledTag + *encoded;
    };
    host::ConfinedRun run = host::run_confined(call);
    cpu_time = run.exit ? host::cpu_time_of(run.exit->usage) : std::chrono::nanoseconds{0};
    switch (run.ended) {
        case host::ConfinedRun::Ended::Reported:
            break;
        case host::ConfinedRun::Ended::Deadline:
            return Clock::now() >= deadline
                       ? refused(Reason::Timeout, "the timeout passed while the module was compiled")
                       : refused(Reason::InvalidProgram, "the module took longer than " +
                                                             std::to_string(kCompileDeadline.count()) +
                                                             " s to compile");
        case host::ConfinedRun::Ended::Cancelled:
            return refused(Reason::Cancelled, "cancelled while the module was compiled");
        case host::ConfinedRun::Ended::Failed:
            return run.failure == host::ConfinedRun::Failure::Setup
                       ? refused(Reason::SetupError, "the compiler's process could not be set up: " + run.problem)
                       : refused(Reason::InvalidProgram, "the module could not be compiled: the compiler's process " +
                                                             run.problem + " (contained in its process)");
    }
    if (run.report.empty()) return refused(Reason::InvalidProgram, "the compiler's process sent an empty report");
    const std::string_view rest = std::string_view(run.report).substr(1);
    switch (run.report[0]) {
        case kInvalidTag:
            return refused(Reason::InvalidProgram, std::string(rest.substr(0, kMaxReportMessage)));
        case kNotCarriedTag:
            return std::shared_ptr<const CompiledModule>();
        case kCompiledTag:
            // One the host's decoder refuses is compiled in the run's child, as one not carried.
            return decode_module(rest, kCodecKey);
        default:
            return refused(Reason::InvalidProgram, "the compiler's process sent a malformed report");
    }
}

}  // namespace microvm::wasm
