// One sandbox request and its report, shared by every OS-level backend (process, gvisor, and the
// VM backends): a backend runs the command of a request under its limits and reports what the
// kernel measured; host/sandbox_provider.hpp turns programs into requests and reports into
// results, once for all of them.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host/cgroup.hpp"
#include "host/output_capture.hpp"
#include "microvm/cancel.hpp"
#include "microvm/context.hpp"
#include "microvm/policy.hpp"
#include "microvm/pool_figures.hpp"

namespace microvm::host {

class EgressSession;

struct SandboxRequest {
    std::string program;            // absolute path where the backend finds it (bound host file)
    std::vector<std::string> argv;  // argv[0] included
    std::vector<std::string> env;   // the complete environment, "KEY=VALUE"
    FileSystemPolicy fs_policy;
    std::vector<std::string> runtime_dirs;  // extra host dirs the program needs, read-only
    bool host_network = false;              // false: its own network namespace, loopback only
    // Allow/block lists: the execution's egress proxy (host/egress.hpp). The backend makes it
    // the sandbox's only way out, reachable at SandboxProvider::egress_proxy_host():kEgressPort
    // inside; env already points there. Null otherwise. A backend that cannot do this refuses the lists up front
    // (SandboxProvider::host_lists_refusal).
    EgressSession* egress = nullptr;
    CgroupLimits limits;                    // max_pids counts the program's processes
    std::chrono::milliseconds timeout{30'000};
    uint64_t max_output_bytes = 1 << 20;    // per stream
    std::optional<std::string> stdin_data;  // nullopt: empty
    bool guest = false;                     // the guest runner: it reports on a result channel
    uint64_t max_result_bytes = (64u << 20) + 4;
    OutputSink on_output;  // chunks as they arrive (within the caps)
    CancelToken cancel;    // ends the run as Cancelled
    // Only tests that prove the filter is what refuses a call turn this off; nothing outside
    // the C++ API (settings, CLI) can.
    bool seccomp_filter = true;
};

struct SandboxReport {
    // GuestFailed: a VM's agent broke the protocol or its channel closed (exec_error says how).
    // InitLost: the sandbox's init ended without reporting the program's end (exec_error says
    // how): a setup error, with what was measured and captured until then.
    // ProcessLimit: the host's task cap on the sandbox's cgroup stopped its kernel (gVisor's
    // sentry dies when it cannot start a thread), so the program's own exit says nothing.
    enum class End {
        Exited,
        Signaled,
        TimedOut,
        MemoryExceeded,
        Cancelled,
        ExecFailed,
        GuestFailed,
        InitLost,
        ProcessLimit
    };
    End end = End::Exited;
    int exit_code = 0;  // Exited; 128+signal otherwise (as a shell reports it)
    int signal = 0;     // Signaled; SIGKILL for TimedOut, MemoryExceeded, Cancelled
    int exec_errno = 0;  // ExecFailed
    std::string exec_error;
    std::chrono::nanoseconds wall{0};
    std::optional<std::chrono::nanoseconds> cpu_time;
    std::optional<CpuThrottling> cpu_throttling;
    std::optional<uint64_t> memory_peak_bytes;
    CapturedStream stdout_data;
    CapturedStream stderr_data;
    std::optional<CapturedStream> result;  // the guest's result channel, when it wrote one
    std::map<std::string, std::string> details;  // ExecutionMetadata::provider_details
};

// A sandbox a backend built ahead for requests of one shape (SandboxBackend::prepare): its
// namespaces, root, cgroup and limits are in place, waiting for the program.
class PreparedRun {
  public:
    // shape: the request it is built for (its callbacks are not kept).
    explicit PreparedRun(const SandboxRequest& shape);
    virtual ~PreparedRun() = default;  // tears down what was not launched
    const SandboxRequest& shape() const { return shape_; }
    // Whether request has the shape (same_shape); launch() refuses one that has not.
    bool fits(const SandboxRequest& request) const;
    // Runs the request, whose shape must equal the prepared one (same_shape), once: what run()
    // would report, measured from the launch (the preparation's time and CPU are not the
    // program's). Refused (SetupError) for a second launch, another shape, or a host file bound
    // into it that was replaced since it was built (it would run old here and new in a fresh
    // sandbox), whoever calls: SandboxProvider's fits() already runs such a request fresh.
    Expected<SandboxReport> launch(const SandboxRequest& request);
    // Still as it was built: not launched, it waits for its program (nothing ended it), and
    // every host file bound into it is still the one at its path.
    bool current() const { return !launched_ && waiting() && sources_unchanged(); }

  protected:
    // The backend's launch, once, after launch()'s checks.
    virtual Expected<SandboxReport> launch_checked(const SandboxRequest& request) = 0;
    // Not launched yet: whatever holds it (an init, runsc run) still runs.
    virtual bool waiting() const = 0;
    // Every host file bound into it is still the object that was checked at its path.
    virtual bool sources_unchanged() const = 0;

  private:
    SandboxRequest shape_;
    bool launched_ = false;
};

// Whether two requests need the same sandbox: the program and its files, the fs policy, the
// network, the limits, the result channel and the filter; what differs (arguments, environment,
// input, time limit, output caps, callbacks) is given at launch. Requests with an egress proxy
// are never of a shape built ahead (the proxy is the execution's own).
bool same_shape(const SandboxRequest& a, const SandboxRequest& b);

class SandboxBackend {
  public:
    virtual ~SandboxBackend() = default;
    // A sandbox built for requests shaped like `shape` (its argv, env and input are not used),
    // or Unsupported when this backend cannot build ahead. Thread-safe.
    virtual Expected<std::unique_ptr<PreparedRun>> prepare(const SandboxRequest& shape) const;
    // Thread-safe. InvalidInput for a request it cannot take (bad policy paths), SetupError when
    // the sandbox could not be built; otherwise what happened to the program.
    virtual Expected<SandboxReport> run(const SandboxRequest& request) const = 0;
    // Removes what crashed hosts left behind (cgroups, state); returns how many.
    virtual size_t sweep_stale() const = 0;
    // A pool of its own (Provider::pool_figures); default none. Thread-safe.
    virtual std::optional<ProviderPoolFigures> pool_figures() const { return std::nullopt; }
    virtual std::string describe() const = 0;
};

}  // namespace microvm::host
