// Which peer a TCP client of microvmd counts as, for the per-peer connection cap.
#pragma once

#include <sys/socket.h>

#include <string>

namespace microvm::service {

// Whose connections a TCP client's count among (max_connections_per_peer): its IPv4 address,
// but every client of this host as one (any local user may connect from any address of
// 127.0.0.0/8, or from any address the host's routes deliver here); an IPv6 client's /64, a
// host's usual share (an IPv4-mapped address as IPv4).
std::string peer_address(int fd, const sockaddr_storage& ss);

}  // namespace microvm::service
