// The `process` provider: runs RTFS (through the guest runner), external programs and scripts
// in a process sandbox (see sandbox.hpp) under the per-execution policy.
#pragma once

#include <memory>
#include <mutex>
#include <optional>

#include "microvm/provider.hpp"
#include "process/sandbox.hpp"

namespace microvm {

class ProcessProvider final : public Provider {
  public:
    ProcessProvider();
    ~ProcessProvider() override;

    std::string_view name() const override { return "process"; }
    Isolation isolation() const override { return Isolation::Process; }
    std::vector<ProgramKind> runs() const override;
    Availability availability() const override;
    nlohmann::json config_schema() const override;
    std::vector<Unsupported> check(const ExecutionContext& ctx) const override;

  protected:
    Expected<void> do_initialize(const nlohmann::json& settings) override;
    void do_cleanup() override;
    ExecutionResult run(const ExecutionContext& ctx) override;

  private:
    mutable std::once_flag probed_;
    mutable Availability availability_;
    // The sandbox the probe built with default settings, handed to initialize when it fits.
    mutable std::mutex probe_mu_;
    mutable std::unique_ptr<process::Sandbox> probed_sandbox_;
    std::unique_ptr<process::Sandbox> sandbox_;
};

}  // namespace microvm
