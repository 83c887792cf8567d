#include "rtfs_eval.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <optional>

#include "io.hpp"
#include "microvm/capability_gates.hpp"
#include "rtfs/host/big_stack.hpp"
#include "rtfs/host/default_host.hpp"
#include "rtfs/printer.hpp"
#include "rtfs/reader.hpp"

namespace microvm::guest {

Result evaluate(const Job& job, int stdout_fd, int stderr_fd, bool on_big_stack) {
    Result out;
    rtfs::host::HostOptions ho;
    ho.out = [stdout_fd](std::string_view s) { write_all(stdout_fd, s); };
    ho.err = [stderr_fd](std::string_view s) { write_all(stderr_fd, s); };
    std::optional<std::chrono::steady_clock::time_point> deadline;
    if (job.timeout_ms > 0)
        deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(job.timeout_ms);
    ho.deadline = deadline;
    // The sandbox is the hard boundary; the gate turns a forbidden host into a clear
    // SecurityViolation instead of a connection error.
    auto policy = NetworkPolicy::parse(job.network_policy.empty() ? "deny" : job.network_policy);
    ho.network_gate = network_gate(policy ? *policy : NetworkPolicy::denied());
    // Allow/block lists: the sandbox's only way out is the egress proxy its host put there.
    if (policy && (policy->kind == NetworkPolicy::Kind::AllowList ||
                   policy->kind == NetworkPolicy::Kind::DenyList)) {
        if (const char* proxy = std::getenv("http_proxy")) ho.http_proxy = proxy;
    }
    rtfs::host::DefaultHost host(std::move(ho));

    rtfs::EvalOptions eo;
    eo.security = job.runtime_context;
    eo.host = &host;
    eo.deadline = deadline;
    rtfs::Interpreter interp(eo);

    std::vector<rtfs::Value> args;
    for (const auto& a : job.args) {
        auto v = rtfs::read_one(a);
        if (!v) {
            out.error_kind = "ReadError";
            out.error_message = "argument '" + a + "': " + v.error().located_message();
            return out;
        }
        args.push_back(std::move(*v));
    }
    interp.define("*args*", rtfs::make_vector(std::move(args)));

    auto r = on_big_stack ? interp.eval(job.source) : rtfs::host::eval_on_big_stack(interp, job.source);
    if (r) {
        out.ok = true;
        out.value = rtfs::print(*r, rtfs::kMaxResultBytes);
    } else {
        out.error_kind = rtfs::to_string(r.error().kind());
        out.error_message = r.error().located_message();
    }
    out.effects = host.effects();
    return out;
}

}  // namespace microvm::guest
