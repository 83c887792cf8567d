#include "mock/mock_provider.hpp"

#include <time.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>

#include "host/egress.hpp"
#include "microvm/capability_gates.hpp"
#include "microvm/capped_text.hpp"
#include "microvm/errors.hpp"
#include "rtfs/host/big_stack.hpp"
#include "host/thread_cpu_time.hpp"
#include "rtfs/host/default_host.hpp"
#include "rtfs/host/http_transfer.hpp"
#include "rtfs/interpreter.hpp"
#include "rtfs/printer.hpp"
#include "rtfs/reader.hpp"

namespace microvm {

namespace {

using Clock = std::chrono::steady_clock;

using host::thread_cpu_time;

// println/log output, capped, shared by the host's sinks, and streamed to the caller's sink.
struct Console {
    std::mutex mu;
    CappedText out, err;
    const OutputSink& stream;
    Console(uint64_t cap, const OutputSink& sink) : out(cap), err(cap), stream(sink) {}
    rtfs::host::TextSink sink(CappedText& t, OutputStream which) {
        return [this, &t, which](std::string_view s) {
            std::lock_guard<std::mutex> lock(mu);
            std::string_view kept = t.append(s);
            if (stream && !kept.empty()) stream(which, kept);
        };
    }
};

// An error message is program data too (`(throw (error big-string))`): it is capped at
// max_output_bytes like the value and the console (and at what any guest returns), cut at a
// character boundary, and says so.
std::string capped_message(std::string message, uint64_t cap) {
    if (cap < rtfs::kMaxErrorMessageBytes)
        return rtfs::bounded_message(std::move(message), static_cast<size_t>(cap), " at max_output_bytes");
    return rtfs::bounded_message(std::move(message));
}

}  // namespace

MockProvider::MockProvider() : egress_limits_(std::make_unique<proxy::Limits>()) {}
MockProvider::~MockProvider() = default;

nlohmann::json MockProvider::config_schema() const {
    return {{"type", "object"},
            {"properties", host::egress_settings_schema()},
            {"additionalProperties", false}};
}

Expected<void> MockProvider::do_initialize(const nlohmann::json& settings) {
    RTFS_TRY(proxy::Limits limits, host::provider_egress_limits(name(), settings));
    *egress_limits_ = std::move(limits);
    return Ok{};
}

std::vector<Unsupported> MockProvider::check(const ExecutionContext& ctx) const {
    std::vector<Unsupported> out = Provider::check(ctx);
    // Evaluation is single-threaded, so it never uses more than one core; a smaller share would
    // need throttling this provider cannot do.
    if (ctx.config.cpu_limit < 1.0)
        out.push_back({"cpu_limit", "in-process evaluation cannot be throttled below one core "
                                    "(use the process provider for cpu_limit < 1)"});
    return out;
}

ExecutionResult MockProvider::run(const ExecutionContext& ctx, const CancelToken& cancel) {
    if (const auto* rtfs_source = std::get_if<RtfsSource>(&*ctx.program))
        return run_rtfs(ctx, rtfs_source->source, cancel);
    return run_native(ctx, std::get<NativeFunction>(*ctx.program));
}

ExecutionResult MockProvider::run_rtfs(const ExecutionContext& ctx, const std::string& source,
                                       const CancelToken& cancel) {
    const MicroVMConfig& cfg = ctx.config;
    const auto t0 = Clock::now();
    const auto deadline = t0 + cfg.timeout;

    std::vector<rtfs::Value> args;
    for (const auto& a : ctx.args) {
        auto v = rtfs::read_one(a);
        if (!v)
            return make_error(ctx, Reason::InvalidProgram,
                              "argument '" + a + "' is not an RTFS value: " + v.error().describe());
        args.push_back(std::move(*v));
    }

    Console console(cfg.max_output_bytes, ctx.on_output);
    rtfs::host::HostOptions ho;
    ho.out = console.sink(console.out, OutputStream::Stdout);
    ho.err = console.sink(console.err, OutputStream::Stderr);
    ho.environment = std::map<std::string, std::string>(cfg.env_vars.begin(), cfg.env_vars.end());
    ho.deadline = deadline;
    ho.network_gate = network_gate(cfg.network_policy);
    ho.file_gate = file_gate(cfg.fs_policy);
    // Allow/block lists: http-fetch, after the gate, goes through the egress proxy (which checks
    // the resolved addresses and records each connection), on a Unix socket of the host's.
    std::optional<host::EgressSession> egress;
    if (host::needs_egress(cfg.network_policy)) {
        auto opened = host::EgressSession::open(cfg.network_policy, *egress_limits_);
        if (!opened) return make_error(ctx, Reason::SetupError, opened.error().message);
        egress.emplace(std::move(*opened));
        auto socket = egress->listen_private_unix();
        if (!socket) return make_error(ctx, Reason::SetupError, socket.error().message);
        ho.http_proxy = rtfs::host::unix_socket_proxy_url(*socket);
    }
    rtfs::host::DefaultHost host(std::move(ho));

    rtfs::EvalOptions eo;
    eo.security = ctx.runtime_context.value_or(rtfs::RuntimeContext::pure());
    eo.host = &host;
    eo.deadline = deadline;
    eo.cancel = cancel_flag(cancel);
    eo.memory_limit_bytes = static_cast<int64_t>(cfg.memory_limit_mb) << 20;

    // What the evaluation thread reports back (plain data: RTFS values stay on that thread).
    struct Outcome {
        bool ok = false;
        std::string value;
        rtfs::ErrorKind error_kind{};
        std::string error_message;
        std::chrono::nanoseconds cpu{0};
        int64_t heap_peak = 0;
    } o;
    auto ran = rtfs::host::run_with_stack(rtfs::host::kBigStackBytes, [&] {
        const auto cpu0 = thread_cpu_time();
        {
            rtfs::Interpreter interp(eo);
            interp.define("*args*", rtfs::make_vector(std::move(args)));
            auto r = interp.eval(source);
            if (r) {
                o.ok = true;
                o.value = rtfs::print(*r, cfg.max_output_bytes);
            } else {
                o.error_kind = r.error().kind();
                o.error_message = capped_message(r.error().located_message(), cfg.max_output_bytes);
            }
            o.heap_peak = interp.heap_stats().peak_bytes;
        }
        o.cpu = thread_cpu_time() - cpu0;
    });
    const auto wall = Clock::now() - t0;
    if (!ran)
        return make_error(ctx, Reason::SetupError,
                          "provider 'mock' could not start the evaluation thread: " +
                              ran.error().message());

    ExecutionResult res = make_result(ctx);
    if (wall > cfg.timeout) {
        // Whatever the evaluation returned, it ran past its deadline (a builtin that did not
        // reach a limit check in time): the caller gets `timeout`, never a late value.
        set_error(res, Reason::Timeout, reason_message(Reason::Timeout, cfg));
    } else if (cancel.cancelled()) {
        // Cancelled while it ran (Ctrl-C, the daemon's client gone): the same, whether the
        // evaluator saw the flag or finished first.
        set_error(res, Reason::Cancelled, reason_message(Reason::Cancelled, cfg));
    } else if (o.ok && eo.memory_limit_bytes > 0 && o.heap_peak > eo.memory_limit_bytes) {
        // The runtime's own checks come after what it built: a value that held more than the
        // limit on its way is over it, whatever the evaluation returned.
        set_error(res, Reason::MemoryExceeded, reason_message(Reason::MemoryExceeded, cfg));
    } else if (o.ok) {
        res.value = std::move(o.value);
    } else if (o.error_kind == rtfs::ErrorKind::Interrupted) {  // our cancel flag or our deadline
        const Reason why = cancel.cancelled() ? Reason::Cancelled : Reason::Timeout;
        set_error(res, why, reason_message(why, cfg));
    } else if (o.error_kind == rtfs::ErrorKind::ResourceLimit) {
        set_error(res, Reason::MemoryExceeded,
                  reason_message(Reason::MemoryExceeded, cfg) + " (" + o.error_message + ")",
                  rtfs::to_string(o.error_kind));
    } else {
        set_error(res, Reason::RtfsError, o.error_message, rtfs::to_string(o.error_kind));
    }
    auto& m = res.metadata;
    m.duration = wall;
    m.cpu_time = o.cpu;
    m.memory_peak_mb = static_cast<double>(o.heap_peak) / (1024.0 * 1024.0);
    m.stdout_truncated = console.out.truncated();
    m.stderr_truncated = console.err.truncated();
    m.stdout_data = console.out.take();
    m.stderr_data = console.err.take();
    rtfs::EffectLog effects = host.effects();
    m.network_requests = std::move(effects.network_requests);
    if (egress) {  // the fetches as the host made them, then the connections the proxy relayed
        for (auto& record : egress->finish()) m.network_requests.push_back(std::move(record));
    }
    m.file_operations = std::move(effects.file_operations);
    return res;
}

// Native functions are trusted C++: they run on the calling thread and cannot be preempted.
// The timeout is still applied to the outcome: a call that overran it ends `timeout` and its
// value is discarded, so no caller ever receives a result later than the configured limit allows.
ExecutionResult MockProvider::run_native(const ExecutionContext& ctx, const NativeFunction& fn) {
    if (!fn.fn) return make_error(ctx, Reason::InvalidProgram, "empty native function");
    const auto t0 = Clock::now();
    const auto cpu0 = thread_cpu_time();
    NativeResult r = fn.fn(ctx.args);
    ExecutionResult res = make_result(ctx);
    res.metadata.duration = Clock::now() - t0;
    res.metadata.cpu_time = thread_cpu_time() - cpu0;
    if (res.metadata.duration > ctx.config.timeout) {
        set_error(res, Reason::Timeout, reason_message(Reason::Timeout, ctx.config));
    } else if (r.ok) {
        res.value = std::move(r.value);
    } else {
        set_error(res, Reason::RtfsError, std::move(r.value), "NativeError");
    }
    return res;
}

}  // namespace microvm
