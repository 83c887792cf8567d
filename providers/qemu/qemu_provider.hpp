// The `qemu` provider: a QEMU `-M microvm` VM per execution (KVM when a probe guest really runs
// under it, else TCG), the guest image of vm/image with the static agent as /init, on the shared
// sandbox layer (host/sandbox_provider.hpp). docs/vm.md.
#pragma once

#include <mutex>

#include "host/sandbox_provider.hpp"
#include "qemu/egress_link.hpp"
#include "qemu/qemu_backend.hpp"

namespace microvm {

class QemuProvider final : public host::SandboxProvider {
  public:
    std::string_view name() const override { return "qemu"; }
    Isolation isolation() const override { return Isolation::VM; }
    // Probed once: QEMU, the image, the TSC rate, KVM or TCG (the probe's verdict is cached per
    // host boot). Missing image: unavailable, naming the command that builds it.
    Availability availability() const override;
    nlohmann::json config_schema() const override;

  protected:
    Expected<std::unique_ptr<host::SandboxBackend>> make_backend(
        const nlohmann::json& settings) override;
    rtfs::Expected<host::Command, host::CommandError> resolve(
        const ExecutionContext& ctx) const override;
    void check_backend(const ExecutionContext& ctx,
                       std::vector<Unsupported>& problems) const override;
    // Allow/block lists: the VM's one link ends at the egress proxy, in QEMU's own network
    // namespace (qemu/egress_link.hpp); needs a root host and /dev/net/tun.
    std::optional<std::string> host_lists_refusal() const override;
    std::string egress_proxy_host() const override { return qemu::kEgressGateway; }

  private:
    mutable std::once_flag probed_;
    mutable Availability availability_;
};

}  // namespace microvm
