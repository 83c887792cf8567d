// Allow/block lists (issue 12) in a VM: the VM's network device is a tap device in QEMU's own,
// otherwise empty network namespace, and the host's egress proxy listens on the other end of
// that link. Nothing routes or forwards there, so the proxy is the one endpoint the guest can
// reach: no user-mode network stack, no forwarder process, real TCP to the proxy.
#pragma once

#include <cstdint>

namespace microvm::qemu {

// The link (the guest configures its side from Setup::proxy_only): 10.0.2.0/24 as in QEMU's
// user network, the host's side (the proxy) at the gateway's address.
inline constexpr const char* kEgressGateway = "10.0.2.2";
inline constexpr uint32_t kEgressGatewayIp = 0x0A000202;  // 10.0.2.2, host order
inline constexpr uint32_t kEgressGuestIp = 0x0A00020F;    // 10.0.2.15, host order
inline constexpr const char* kEgressTapName = "tap0";

// Child side, async-signal-safe, in QEMU's fresh network namespace while still privileged
// (CAP_NET_ADMIN there): turns IPv6, forwarding and route_localnet off and reverse-path filtering
// on, brings lo up, creates the tap device with the gateway's address as a /32 and one host route
// to the guest's address (so the namespace accepts frames from that sender only and the guest
// can make one neighbour entry, not one per address it invents), binds
// a listening TCP socket on the gateway's address:port and sends it over the Unix socket
// to_host (SCM_RIGHTS; the child keeps no copy). Returns the tap's descriptor (close-on-exec),
// which QEMU gets; an open tap descriptor keeps working after the uid drop. On failure returns
// -1 with errno set and *step naming what failed.
int set_up_egress_link(int to_host, uint16_t port, const char** step) noexcept;

}  // namespace microvm::qemu
