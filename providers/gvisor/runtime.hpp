// The gvisor sandbox as a reusable C++ API: runs one program in a fresh runsc container whose
// OCI bundle is generated from the policy, and returns what the kernel measured. GvisorProvider
// is a thin mapping of the MicroVM model onto this (as ProcessProvider is onto process::Sandbox).
//
// Per execution: a cgroup created with the process provider's cgroup code (memory limit, CPU
// quota, a pids limit for the sandbox's host tasks) that runsc is started in (container.hpp), so
// that everything of the sandbox is limited and counted there and the counters (peak memory, OOM
// kills, CPU time) outlive the container; a bundle (rootfs, config.json); `runsc run`; cleanup
// of everything on every path.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "microvm/policy.hpp"
#include "microvm/provider.hpp"
#include "microvm/sandbox_ending.hpp"
#include "host/output_capture.hpp"

namespace microvm::gvisor {

struct RuntimeSettings {
    std::string runsc;                // runsc binary; empty: found on PATH
    std::string platform;             // "ptrace" or "systrap"; empty: the first that works
    std::string cgroup_parent;        // empty: this process's own cgroup(s)
    std::string state_base = "/run";  // where the provider's private directory is created
    uint64_t max_file_size_bytes = 1ull << 30;
    uint64_t max_open_files = 1024;
    bool operator==(const RuntimeSettings&) const = default;
};

struct RunRequest {
    std::string program;            // absolute host path; the same path inside
    std::vector<std::string> argv;  // argv[0] included
    // The complete environment. (runsc adds HOME=/ when it has no HOME: gVisor's loader sets it
    // from the sandbox's /etc/passwd, "/" without one; removing it would cost an exec.)
    std::vector<std::string> env;
    FileSystemPolicy fs_policy;
    std::vector<std::string> runtime_dirs;  // extra host dirs the program needs, read-only
    bool host_network = false;
    uint64_t memory_bytes = 512ull << 20;
    double cpu_fraction = 1.0;
    uint32_t max_processes = 256;
    std::chrono::milliseconds timeout{30'000};
    uint64_t max_output_bytes = 1 << 20;
    std::optional<std::string> stdin_data;  // nullopt: empty
    bool guest_result = false;  // RTFS guest: a result dir, "--result-file PATH" appended to argv
    uint64_t max_result_bytes = 64u << 20;
    // Only tests that prove the filter is what refuses a call turn this off; nothing outside the
    // C++ API (settings, CLI) can.
    bool seccomp_filter = true;
};

struct RunOutcome {
    using End = SandboxEnding::Kind;  // Exited, TimedOut, MemoryExceeded, Signaled
    End end = End::Exited;
    int exit_code = 0;  // Exited; 128+signal otherwise
    int signal = 0;     // Signaled; SIGKILL for TimedOut/MemoryExceeded
    std::chrono::nanoseconds wall{0};
    std::optional<std::chrono::nanoseconds> cpu_time;
    std::optional<uint64_t> memory_peak_bytes;
    host::CapturedStream stdout_data;
    host::CapturedStream stderr_data;
    std::optional<host::CapturedStream> result;  // the guest's frame, when it wrote one
};

class Runtime {
  public:
    // Finds runsc, detects cgroups, creates the private state directory and picks the platform
    // (each candidate proven by a probe container running /bin/true under a hard timeout, unless
    // a probe with the same runsc succeeded since boot: probe_cache.hpp).
    // SetupError naming the missing piece or the failed probe otherwise.
    static Expected<std::unique_ptr<Runtime>> create(const RuntimeSettings& settings);
    ~Runtime();

    // Thread-safe. InvalidInput for bad fs policy paths, SetupError when the container could
    // not be built or started (with runsc's message); otherwise what happened to the program.
    Expected<RunOutcome> run(const RunRequest& request) const;

    // Removes state directories and cgroups that crashed hosts left behind; returns how many.
    size_t sweep_stale() const;
    const RuntimeSettings& settings() const;
    std::string platform() const;
    std::string describe() const;

  private:
    Runtime();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Host tasks (sentry and gofer threads, ptrace stubs) a container's cgroup may hold for a
// program limited to max_processes processes: gVisor's ptrace platform runs several host threads
// per sandboxed process, so the host limit is a generous backstop and the exact per-program
// limit is RLIMIT_NPROC inside the sandbox.
uint64_t host_task_budget(uint32_t max_processes);

}  // namespace microvm::gvisor
