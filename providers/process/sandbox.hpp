// The process sandbox, a SandboxBackend (host/sandbox.hpp) usable on its own as a C++ API: run
// one program under Linux namespaces (user, pid, mount, net, ipc, uts, cgroup), in a per-run
// root built from the fs policy, with seccomp-bpf, no capabilities, no_new_privs, cgroup limits
// (memory, cpu, pids) and rlimits, and get back what the kernel measured. ProcessProvider is
// this backend plus its settings.
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
#include "host/sandbox.hpp"
#include "process/rlimits.hpp"

namespace microvm::process {

struct SandboxSettings {
    std::string cgroup_parent;  // empty: this process's own cgroup(s)
    host::RlimitSettings rlimits;
    bool operator==(const SandboxSettings&) const = default;
};

class ChildPlanBuilder;
struct LiveSandbox;

class Sandbox final : public host::SandboxBackend {
  public:
    // Detects cgroups, compiles the seccomp filter, decides the id mapping: SetupError naming the
    // missing piece otherwise.
    static Expected<std::unique_ptr<Sandbox>> create(const SandboxSettings& settings);
    ~Sandbox();

    // Thread-safe. InvalidInput for bad fs policy paths, SetupError when the sandbox could not be
    // built (with the failed step); otherwise what happened to the program.
    Expected<host::SandboxReport> run(const host::SandboxRequest& request) const override;
    // A sandbox built for requests shaped like `shape` (host/prepared_live_run.hpp): namespaces, root,
    // cgroup and limits in place, the init waiting for the program's argv and environment. The
    // init's parent-death signal follows the calling thread: call this from a thread that lives
    // as long as the sandbox is kept (a pool's own).
    Expected<std::unique_ptr<host::PreparedRun>> prepare(const host::SandboxRequest& shape) const override;

    // Whether sandboxes can start here: clones a child into the namespaces (cgroups and seccomp
    // were already checked by create()). The reason when not.
    Availability probe() const;

    // Removes cgroups that crashed hosts left behind.
    size_t sweep_stale() const override;
    std::string describe() const override;
    const SandboxSettings& settings() const;

  private:
    Sandbox();
    // Plans the root and fills in the child's plan (everything but descriptors).
    Expected<void> prepare(const host::SandboxRequest& request, ChildPlanBuilder& builder) const;
    // Clones the init for the request and lets it build the sandbox; ahead: it then waits for a
    // launch message instead of running the request's program.
    Expected<std::unique_ptr<LiveSandbox>> start(const host::SandboxRequest& request, bool ahead) const;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace microvm::process
