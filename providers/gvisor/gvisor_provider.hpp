// The `gvisor` provider: real runsc containers (gVisor's user-space kernel) whose OCI bundles are
// generated from the per-execution policy (runtime.hpp), as a SandboxBackend of the shared
// sandbox provider code (host/sandbox_provider.hpp): RTFS (through the guest runner), external
// programs and scripts.
#pragma once

#include <mutex>

#include "gvisor/runtime.hpp"
#include "host/sandbox_provider.hpp"

namespace microvm {

class GvisorProvider final : public host::SandboxProvider {
  public:
    GvisorProvider();
    ~GvisorProvider() override;

    std::string_view name() const override { return "gvisor"; }
    Isolation isolation() const override { return Isolation::Container; }
    // Probed once (root, runsc, cgroups, a platform that runs /bin/true); sweeps nothing. Its
    // reason notes a missing or refused launcher, which leaves the provider available.
    Availability availability() const override;
    nlohmann::json config_schema() const override;

    // The platform the probe settled on ("ptrace", "systrap"); empty before initialize().
    std::string platform() const;

  protected:
    Expected<std::unique_ptr<host::SandboxBackend>> make_backend(
        const nlohmann::json& settings) override;
    void check_backend(const ExecutionContext& ctx,
                       std::vector<Unsupported>& problems) const override;
    // Allow/block lists are refused: see the reason (docs/security.md, "Egress proxy").
    std::optional<std::string> host_lists_refusal() const override;

  private:
    mutable std::once_flag probed_;
    mutable Availability availability_;
    // The runtime the probe created with the default settings, taken by the first make_backend
    // with those settings and let go by one with others: initialize() probes first, and creating
    // a second one (state directory, cgroup detection, the probe record) was double work on
    // every one-shot run. A provider only asked whether it is available (microvmd's provider
    // list) keeps it, an empty state directory, for its life.
    mutable std::mutex probed_mu_;
    mutable std::unique_ptr<gvisor::Runtime> probed_runtime_;
};

}  // namespace microvm
