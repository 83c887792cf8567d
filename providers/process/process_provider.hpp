// The `process` provider: the process sandbox (sandbox.hpp) as a SandboxBackend of the shared
// sandbox provider code (host/sandbox_provider.hpp): RTFS (through the guest runner), external
// programs and scripts under the per-execution policy.
#pragma once

#include <memory>
#include <mutex>

#include "host/sandbox_provider.hpp"
#include "process/sandbox.hpp"

namespace microvm {

class ProcessProvider final : public host::SandboxProvider {
  public:
    ProcessProvider();
    ~ProcessProvider() override;

    std::string_view name() const override { return "process"; }
    Isolation isolation() const override { return Isolation::Process; }
    // Whether sandboxes can start here (cgroups, namespaces, seccomp); probed once.
    Availability availability() const override;
    // A cgroup_parent the default cannot use (the host process's own cgroup is not writable by
    // a user who is not root; a delegated one is): probed with it, and the sandbox kept.
    Availability availability_under(const nlohmann::json& settings) const override;
    nlohmann::json config_schema() const override;

  protected:
    Expected<std::unique_ptr<host::SandboxBackend>> make_backend(
        const nlohmann::json& settings) override;
    // Allow/block lists: the sandbox's network namespace has loopback only, and the egress
    // proxy answers on 127.0.0.1:3128 there (SandboxRequest::egress).
    std::optional<std::string> host_lists_refusal() const override { return std::nullopt; }
    // fs_policy full where the host is not root (see the definition).
    void check_backend(const ExecutionContext& ctx, std::vector<Unsupported>& problems) const override;

  private:
    mutable std::once_flag probed_;
    mutable Availability availability_;
    // The sandbox the probe built with default settings, handed to make_backend when it fits
    // (a one-shot CLI run would otherwise build the same sandbox twice).
    mutable std::mutex probe_mu_;
    mutable std::unique_ptr<process::Sandbox> probed_sandbox_;
};

}  // namespace microvm
