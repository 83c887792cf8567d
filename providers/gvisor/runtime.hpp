// The gvisor sandbox as a reusable C++ API: runs one program in a fresh runsc container whose
// OCI bundle is generated from the policy, and returns what the kernel measured. GvisorProvider
// is a thin mapping of the MicroVM model onto this (as ProcessProvider is onto process::Sandbox).
//
// Per execution: a cgroup created with the process provider's cgroup code (memory limit, CPU
// quota, a pids limit for the sandbox's host tasks) that runsc is started in (container.hpp), so
// that everything of the sandbox is limited and counted there and the counters (peak memory, OOM
// kills, CPU time) outlive the container; a bundle (rootfs, config.json); `runsc run`; cleanup
// of everything on every path (live_container.hpp). Sandboxes built ahead: host/prepared_live_run.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "microvm/policy.hpp"
#include "microvm/provider.hpp"
#include "host/output_capture.hpp"
#include "host/sandbox.hpp"

namespace microvm::gvisor {

struct RuntimeSettings {
    std::string runsc;                // runsc binary; empty: found on PATH
    std::string platform;             // "ptrace" or "systrap"; empty: the first that works
    std::string cgroup_parent;        // empty: this process's own cgroup(s)
    std::string state_base = "/run";  // where the provider's private directory is created
    uint64_t max_file_size_bytes = 1ull << 30;
    uint64_t max_open_files = 1024;
    // A one-shot run through the launcher where one is installed: the sandbox boots at every CPU
    // the parent allows and the program is limited, timed and measured from its launch, as in a
    // sandbox built ahead. false: runsc runs the program itself, the boot held to cpu_limit and
    // counted in the run (the only way when the argv and env exceed the launch message).
    bool one_shot_launcher = true;
    bool operator==(const RuntimeSettings&) const = default;
};

// Test hooks: called while a container is built, in the windows a local attacker would use to
// swap a bind source (rename over it, or a symlink in its place), so that tests can make that
// race deterministic (staged_binds.hpp).
struct BindWindowHooks {
    std::function<void()> after_check;   // the sources were checked, not yet staged for runsc
    std::function<void()> before_runsc;  // staged, runsc not yet started
};

class Runtime final : public host::SandboxBackend {
  public:
    // Finds runsc, detects cgroups, creates the private state directory and picks the platform
    // (each candidate proven by a probe container running /bin/true under a hard timeout, unless
    // a probe with the same runsc succeeded since boot: probe_cache.hpp). It does not sweep:
    // the provider does that when it initializes. SetupError naming the missing piece or the
    // failed probe otherwise.
    static Expected<std::unique_ptr<Runtime>> create(const RuntimeSettings& settings);
    ~Runtime();

    // Thread-safe. InvalidInput for bad fs policy paths or text runsc cannot take (not UTF-8),
    // SetupError when the container could not be built or started (with runsc's message);
    // otherwise what happened to the program. A guest request gets a result directory
    // ("--result-file PATH" appended to argv): runsc passes only stdio into a container.
    Expected<host::SandboxReport> run(const host::SandboxRequest& request) const override;

    // A container for requests shaped like `shape`, started with the launcher as its process
    // (microvm-gvisor-launcher, launch_format.hpp) and waiting for the launch's argv and
    // environment: everything else (root, mounts, namespaces, cgroup, rlimits, seccomp, user,
    // capabilities) is what run() builds for the same request. Thread-safe; the result must not
    // outlive this Runtime, and dies with the calling thread (host/prepared_live_run.hpp). The same
    // refusals as run(), SetupError when the launcher is missing or the sandbox did not come up.
    Expected<std::unique_ptr<host::PreparedRun>> prepare(
        const host::SandboxRequest& shape) const override;

    // Tests only, before any run or prepare: hooks called while every later container is built.
    void set_bind_window_hooks_for_tests(BindWindowHooks hooks);

    // Removes state directories and cgroups that crashed hosts left behind; returns how many.
    size_t sweep_stale() const override;
    std::string describe() const override;
    const RuntimeSettings& settings() const;
    std::string platform() const;

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
