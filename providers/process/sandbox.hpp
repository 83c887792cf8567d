// The process sandbox as a reusable C++ API: run one program under Linux namespaces (user, pid,
// mount, net, ipc, uts, cgroup), in a per-run root built from the fs policy, with seccomp-bpf,
// no capabilities, no_new_privs, cgroup limits (memory, cpu, pids) and rlimits, and get back
// what the kernel measured. ProcessProvider is a thin mapping of the MicroVM model onto this.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "microvm/policy.hpp"
#include "microvm/provider.hpp"
#include "host/cgroup.hpp"
#include "host/output_capture.hpp"
#include "process/rlimits.hpp"

namespace microvm::process {

struct SandboxSettings {
    std::string cgroup_parent;  // empty: this process's own cgroup(s)
    host::RlimitSettings rlimits;
    bool operator==(const SandboxSettings&) const = default;
};

struct SandboxSpec {
    std::string program;            // absolute host path; the same path inside the sandbox
    std::vector<std::string> argv;  // argv[0] included
    std::vector<std::string> env;   // the complete environment, "KEY=VALUE"
    FileSystemPolicy fs_policy;
    std::vector<std::string> runtime_dirs;  // extra host dirs the program needs, read-only
    bool host_network = false;              // false: a fresh network namespace with loopback only
    host::CgroupLimits limits;  // max_pids counts the program's processes (not the init)
    std::chrono::milliseconds timeout{30'000};
    uint64_t max_output_bytes = 1 << 20;    // per stream
    std::optional<std::string> stdin_data;  // nullopt: /dev/null
    bool result_channel = false;            // a pipe on the program's fd 3 (guest runner)
    uint64_t max_result_bytes = 64u << 20;
    // Only tests that prove the filter is what refuses a call turn this off; nothing outside the
    // C++ API (settings, CLI) can.
    bool seccomp_filter = true;
};

struct SandboxOutcome {
    enum class End { Exited, Signaled, TimedOut, MemoryExceeded, ExecFailed };
    End end = End::Exited;
    int exit_code = 0;   // Exited; 128+signal for Signaled/MemoryExceeded
    int signal = 0;      // Signaled, MemoryExceeded (SIGKILL)
    int exec_errno = 0;  // ExecFailed
    std::string exec_error;
    std::chrono::nanoseconds wall{0};
    std::optional<std::chrono::nanoseconds> cpu_time;
    std::optional<uint64_t> memory_peak_bytes;
    host::CapturedStream stdout_data;
    host::CapturedStream stderr_data;
    host::CapturedStream result;  // bytes the program wrote to fd 3
};

class ChildPlanBuilder;

class Sandbox {
  public:
    // Detects cgroups, compiles the seccomp filter, decides the id mapping: SetupError naming the
    // missing piece otherwise.
    static Expected<std::unique_ptr<Sandbox>> create(const SandboxSettings& settings);
    ~Sandbox();

    // Thread-safe. InvalidInput for bad fs policy paths, SetupError when the sandbox could not be
    // built (with the failed step); otherwise what happened to the program.
    Expected<SandboxOutcome> run(const SandboxSpec& spec) const;

    // Whether sandboxes can start here: clones a child into the namespaces (cgroups and seccomp
    // were already checked by create()). The reason when not.
    Availability probe() const;

    // Removes cgroups that crashed hosts left behind.
    size_t sweep_stale() const;
    std::string describe() const;
    const SandboxSettings& settings() const;

  private:
    Sandbox();
    // Plans the root and fills in the child's plan (everything but descriptors).
    Expected<void> prepare(const SandboxSpec& spec, ChildPlanBuilder& builder) const;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace microvm::process
