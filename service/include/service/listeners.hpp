// Where the daemon listens: `unix:PATH` or `tcp:HOST:PORT`, and the sockets made for them.
// A Unix socket is created mode 0600, owned by the daemon's user, in a directory that nobody else
// can write (else someone could swap the socket for their own and collect the clients' programs);
// a stale socket of a daemon that died is replaced, a live one refused.
#pragma once

#include <string>

#include "host/unique_fd.hpp"
#include "microvm/error.hpp"

namespace microvm::service {

struct ListenSpec {
    enum class Kind { Unix, Tcp };
    Kind kind = Kind::Unix;
    std::string path;  // unix
    std::string host;  // tcp
    int port = 0;      // tcp; 0 = an ephemeral port
    std::string text() const;
};

Expected<ListenSpec> parse_listen(const std::string& text);

// $XDG_RUNTIME_DIR/microvmd.sock, or /run/microvmd/microvmd.sock for root (directory created
// 0700), or /run/user/UID/microvmd.sock.
std::string default_unix_socket_path();

// A bound, listening socket. For TCP, port 0 picks one (bound_port() tells which).
Expected<host::UniqueFd> open_listener(const ListenSpec& spec);
int bound_port(int fd);

}  // namespace microvm::service
