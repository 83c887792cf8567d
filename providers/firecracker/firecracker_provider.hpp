// The `firecracker` provider: one Firecracker microVM per execution (through the jailer when
// present), booted from the guest image (vmlinux + initramfs), the agent over Firecracker's
// vsock. It needs a firecracker binary and a KVM that runs guests; where either is missing (as
// on the project's PVM machines) it is unavailable with that reason. docs/vm-firecracker.md.
#pragma once

#include <mutex>

#include "firecracker/fc_launch.hpp"
#include "host/sandbox_provider.hpp"

namespace microvm {

class FirecrackerProvider final : public host::SandboxProvider {
  public:
    std::string_view name() const override { return "firecracker"; }
    Isolation isolation() const override { return Isolation::VM; }
    Availability availability() const override;
    nlohmann::json config_schema() const override;

  protected:
    Expected<std::unique_ptr<host::SandboxBackend>> make_backend(
        const nlohmann::json& settings) override;
    rtfs::Expected<host::Command, host::CommandError> resolve(
        const ExecutionContext& ctx) const override;
    void check_backend(const ExecutionContext& ctx,
                       std::vector<Unsupported>& problems) const override;

  private:
    mutable std::once_flag probed_;
    mutable Availability availability_;
};

}  // namespace microvm
