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
#include "engine_request.hpp"
#include "fd_table.hpp"
#include "module_codec.hpp"
#include "host/unix_address.hpp"
#include "host/confined_fork.hpp"
#include "host/private_files.hpp"
#include "microvm/built_programs.hpp"
#include "microvm/capped_text.hpp"
#include "microvm/errors.hpp"
#include "rtfs/host/http_transfer.hpp"

namespace microvm::wasm {
namespace {

using Clock = std::chrono::steady_clock;

// The largest compiled module the compiler's program sends back, per byte of source (the decoded
// instruction stream is about twice the binary); a larger one is compiled in each run's program.
// It bounds what the host's decoder builds from a forged one too (empty types: 8 bytes each on
// the wire, 64 decoded; red team, 2026-12-07).
constexpr size_t kCompiledPerSourceByte = 4;
// Bounds the compiler's own work (module_size_guard.hpp bounds what a module can ask of it).
constexpr std::chrono::seconds kCompileDeadline{60};
// Connections to the egress proxy the host makes for one run's program.
constexpr size_t kMaxProxyConnections = 4096;

// The engine's program, found and judged for each call (a replaced one is never run).
Expected<std::vector<std::string>> engine_command() {
    auto path = find_built_executable(kWasmEngine, default_search(kWasmEngine), "wasm engine");
    if (!path) return rtfs::unexpected(path.error());
    return std::vector<std::string>{std::move(*path), std::string(kEngineArgument)};
}

// The egress proxy's Unix socket ("socks5h://localhost/PATH", host/egress.hpp), connected in the
// host for the child; invalid when it is not that form or the connect fails.
host::UniqueFd proxy_connection(const std::string& http_proxy) {
    const std::optional<sockaddr_un> addr = host::unix_address(rtfs::host::unix_socket_of_proxy(http_proxy));
    if (!addr) return {};
    // Non-blocking: a proxy whose backlog is full refuses (EAGAIN) instead of holding the host's
    // wait loop, and with it the child's deadline (review, 2026-12-07).
    host::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.valid() || ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) return {};
    return fd;
}

std::string confinement_text(const host::ChildRules& rules) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    (void)rules;
    return "; no address-space limit (sanitizer build)";
#else
    return "; address space +" + std::to_string(rules.memory_bytes >> 20) + " MiB";
#endif
}

}  // namespace

RunOutcome run_module_confined(const CompiledModule* module, std::span<const uint8_t> source,
                               const MicroVMConfig& config, const RunRequest& request) {
    const Clock::time_point started = Clock::now();
    const Clock::time_point deadline = request.deadline.value_or(started + config.timeout);
    CappedText out(config.max_output_bytes), err(config.max_output_bytes);
    auto refused = [&](Reason reason, std::string message) {
        RunOutcome outcome;
        outcome.failure = reason;
        outcome.error_message = std::move(message);
        outcome.metadata.duration = Clock::now() - started;
        outcome.metadata.isolation = Isolation::Wasm;
        return outcome;
    };

    // A compile that used up the time leaves nothing to run: no program is started past the
    // deadline (its start, decode and instantiation would only add to the run's CPU).
    if (started >= deadline) return refused(Reason::Timeout, reason_message(Reason::Timeout, config));

    // The preopens opened and judged here, where the protections of trusted state and of
    // private files live (the program, started afresh, has none of this process's); a refused
    // policy runs nothing.
    Expected<FdTable> preopens = open_preopens(config.fs_policy, request.result_sink);
    if (!preopens) return refused(Reason::InvalidConfig, preopens.error().message);
    auto command = engine_command();
    if (!command) return refused(Reason::SetupError, command.error().message);
    host::ConfinedCall call;
    std::optional<std::string> input;
    {  // the request's parts live only until it is encoded
        EngineRequest ask;
        ask.mode = EngineRequest::Mode::Run;
        if (module) {
            // From the host's own decoded and checked copy; one the codec does not carry is sent
            // as its source, compiled in the program.
            if (auto encoded = encode_module(*module, kEngineCodecKey)) ask.compiled = std::move(*encoded);
        }
        if (ask.compiled.empty()) ask.source.assign(source.begin(), source.end());
        ask.config = config;
        ask.run = request;
        ask.run.deadline = deadline;
        for (uint32_t fd = 0; fd < limits::kMaxOpenFiles; ++fd) {
            FdEntry* e = preopens->get(fd);
            if (!e || e->kind != FdKind::Directory) continue;
            ask.preopens.push_back({fd, e->rights_base, e->rights_inheriting, e->preopen_name, e->read_only_tree});
            call.descriptors.push_back(std::move(e->host));  // closed here once the child has it
        }
        ask.kept_private = host::kept_private_paths();
        call.rules = engine_rules(ask);  // the program's own, named in the metadata
        input = encode_engine_request(ask);
    }
    if (!input) return refused(Reason::InvalidProgram, "the module and its inputs do not fit the engine's request");

    call.program = std::move(*command);
    call.input = std::move(*input);
    call.kill_at = deadline + kDeadlineGrace;
    call.cancel = request.cancel;
    // The result, the records (at most 1024 of three texts of 4 KiB), the message.
    call.max_report = request.result_cap + (16u << 20);
    size_t connections = 0;
    if (!request.http_proxy.empty()) {
        call.on_connect_request = [&request, &connections] {
            // The proxy bounds connections per execution too; this bounds the host's work.
            if (++connections > kMaxProxyConnections) return host::UniqueFd();
            return proxy_connection(request.http_proxy);
        };
    }
    call.on_message = [&](uint8_t tag, std::string_view bytes) {
        if (tag != kEngineStdoutTag && tag != kEngineStderrTag) return;
        CappedText& sink = tag == kEngineStdoutTag ? out : err;
        std::string_view kept = sink.append(bytes);
        if (request.on_output && !kept.empty()) {
            request.on_output(tag == kEngineStdoutTag ? OutputStream::Stdout : OutputStream::Stderr, kept);
        }
    };
    const std::string confinement = confinement_text(call.rules);
    host::ConfinedRun run = host::run_confined(std::move(call));

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
        outcome.error_message = "the engine's program could not be set up: " + run.problem;
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
    meta.provider_details["engine_process"] = "engine's program (" + std::string(kWasmEngine.name) + "); seccomp" +
                                              (run.landlocked ? "; landlock" : "; no landlock (the kernel has none)") +
                                              confinement;
    return outcome;
}

rtfs::Expected<std::shared_ptr<const CompiledModule>, CompileRefusal> compile_module_confined(
    std::span<const uint8_t> bytes, Clock::time_point deadline, const std::atomic<bool>* cancel,
    std::chrono::nanoseconds& cpu_time) {
    auto refused = [](Reason reason, std::string message) {
        return rtfs::unexpected(CompileRefusal{reason, std::move(message)});
    };
    cpu_time = std::chrono::nanoseconds{0};
    EngineRequest ask;
    ask.mode = EngineRequest::Mode::Compile;
    ask.source.assign(bytes.begin(), bytes.end());
    ask.max_compiled = kCompiledPerSourceByte * bytes.size() + (1u << 20);
    auto command = engine_command();
    if (!command) return refused(Reason::SetupError, command.error().message);
    auto input = encode_engine_request(ask);
    if (!input) return refused(Reason::InvalidProgram, "the module is too large for the engine's request");
    host::ConfinedCall call;
    call.program = std::move(*command);
    call.input = std::move(*input);
    call.kill_at = std::min(deadline, Clock::now() + kCompileDeadline);
    call.cancel = cancel;
    call.max_report = ask.max_compiled + 1;
    host::ConfinedRun run = host::run_confined(std::move(call));
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
                       ? refused(Reason::SetupError, "the compiler's program could not be set up: " + run.problem)
                       : refused(Reason::InvalidProgram, "the module could not be compiled: the compiler's process " +
                                                             run.problem + " (contained in its process)");
    }
    if (run.report.empty()) return refused(Reason::InvalidProgram, "the compiler's process sent an empty report");
    const std::string_view rest = std::string_view(run.report).substr(1);
    switch (run.report[0]) {
        case kCompileInvalid:
            return refused(Reason::InvalidProgram, std::string(rest.substr(0, kMaxReportMessage)));
        case kCompileNotCarried:
            return std::shared_ptr<const CompiledModule>();
        case kCompileDone:
            // One the host's decoder refuses is compiled in the run's child, as one not carried.
            return decode_module(rest, kEngineCodecKey);
        default:
            return refused(Reason::InvalidProgram, "the compiler's process sent a malformed report");
    }
}

}  // namespace microvm::wasm
