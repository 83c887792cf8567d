// The `gvisor` provider: runs RTFS (through the guest runner), external programs and scripts in
// real runsc containers (gVisor's user-space kernel) whose OCI bundles are generated from the
// per-execution policy (see runtime.hpp).
#pragma once

#include <memory>
#include <mutex>

#include "gvisor/runtime.hpp"
#include "microvm/provider.hpp"

namespace microvm {

class GvisorProvider final : public Provider {
  public:
    GvisorProvider();
    ~GvisorProvider() override;

    std::string_view name() const override { return "gvisor"; }
    Isolation isolation() const override { return Isolation::Container; }
    std::vector<ProgramKind> runs() const override;
    Availability availability() const override;
    nlohmann::json config_schema() const override;
    std::vector<Unsupported> check(const ExecutionContext& ctx) const override;

    // The platform the probe settled on ("ptrace", "systrap"); empty before initialize().
    std::string platform() const;

  protected:
    Expected<void> do_initialize(const nlohmann::json& settings) override;
    void do_cleanup() override;
    ExecutionResult run(const ExecutionContext& ctx) override;

  private:
    mutable std::once_flag probed_;
    mutable Availability availability_;
    // The runtime the probe built with default settings, handed to initialize when it fits.
    mutable std::mutex probe_mu_;
    mutable std::unique_ptr<gvisor::Runtime> probed_runtime_;
    std::unique_ptr<gvisor::Runtime> runtime_;
};

}  // namespace microvm
