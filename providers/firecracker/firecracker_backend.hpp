// The firecracker SandboxBackend: a cold-booted Firecracker VM per request (API calls in
// Firecracker's order, fc_sequences), the agent reached through the vsock's Unix socket with the
// CONNECT handshake, then host::AgentSession as for qemu. Firecracker's seccomp filters stay on.
#pragma once

#include "firecracker/fc_launch.hpp"
#include "host/guest_image.hpp"
#include "host/sandbox.hpp"

namespace microvm::firecracker {

inline constexpr uint32_t kAgentVsockPort = 1024;

struct FcProviderSettings {
    FcLaunchSettings launch;
    std::string image;
    std::string state_dir = "/run/microvm-firecracker";
};

class FirecrackerBackend final : public host::SandboxBackend {
  public:
    static Expected<std::unique_ptr<FirecrackerBackend>> create(const FcProviderSettings& s);
    Expected<host::SandboxReport> run(const host::SandboxRequest& request) const override;
    size_t sweep_stale() const override { return 0; }
    std::string describe() const override { return "Firecracker " + binaries_.firecracker; }

  private:
    FirecrackerBackend(FcProviderSettings s, FcBinaries b, host::GuestImage i)
        : settings_(std::move(s)), binaries_(std::move(b)), image_(std::move(i)) {}
    FcProviderSettings settings_;
    FcBinaries binaries_;
    host::GuestImage image_;
};

}  // namespace microvm::firecracker
