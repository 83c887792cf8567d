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

// The daemon's default places. Root's are in /run/microvmd whatever the environment says: under
// `su` or `sudo -E` $XDG_RUNTIME_DIR is a user's directory, and that user swapped the state
// directory root's daemon had checked there for one of its own and read every client's files
// (red team, 2026-12-05). Another user's: in $XDG_RUNTIME_DIR, else /run/user/UID.
// The socket: /run/microvmd/microvmd.sock for root (directory created 0700), else
// $XDG_RUNTIME_DIR/microvmd.sock or /run/user/UID/microvmd.sock.
std::string default_unix_socket_path();
// The state directory (--state-dir): /run/microvmd/state for root, else
// $XDG_RUNTIME_DIR/microvmd or /run/user/UID/microvmd.
std::string default_state_dir();
// Root's directory of those places, /run/microvmd (root's alone, 0700), made when missing: a host
// outside systemd that never ran the daemon has none.
Expected<void> make_root_runtime_dir();

// A bound, listening socket. For TCP, port 0 picks one (bound_port() tells which).
Expected<host::UniqueFd> open_listener(const ListenSpec& spec);
int bound_port(int fd);

}  // namespace microvm::service
