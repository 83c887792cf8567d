// Who serves the other end of a connection to the daemon. A loopback TCP port or a socket path
// the daemon is not holding (restarting, not yet started) is anyone's to take: a local user who
// listened on microvmd's port got the CLI's bearer token and answered with results of its own
// (red team, 2026-12-05). Over unix: and http:// to loopback the CLI talks only to a daemon of
// root or of its own user; https:// with --daemon-ca proves the daemon by its certificate.
#pragma once

#include <sys/types.h>

#include <vector>

#include "microvm/error.hpp"

namespace microvm::cli {

// The uid that owns the daemon's end of the connected socket fd: SO_PEERCRED on a Unix socket;
// on TCP the owner of the socket with this connection's exact addresses in /proc/net/tcp or
// tcp6 (an IPv4 connection served by an IPv6 socket as ::ffff:a.b.c.d). InvalidInput when it
// cannot be told.
Expected<uid_t> daemon_socket_owner(int fd);

// Among sockets (which may include closed or reused numbers), for a unix: address the connected
// Unix socket (it makes only one), else the TCP socket connected from local_ip:local_port to
// peer_ip:peer_port as text (curl's); -1 when none is.
int connected_socket(const std::vector<int>& sockets, bool unix_address, const char* peer_ip, int peer_port,
                     const char* local_ip, int local_port);

}  // namespace microvm::cli
