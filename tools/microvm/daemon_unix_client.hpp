// microvmd over its Unix socket without libcurl: one HTTP/1.1 POST on a connection of its own.
// Loading libcurl and the libraries it links (TLS, Kerberos, LDAP, ...) cost every
// `microvm --daemon unix:...` about 10 ms before the first byte was sent, more than a pooled
// execution takes in the daemon (issue 15); TCP and TLS addresses keep libcurl.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "daemon_client.hpp"

namespace microvm::cli {

// post_json's contract (daemon_client.hpp) for conn.address.unix_path: the daemon's end is
// checked (root's or this user's, daemon_peer.hpp) before a byte is sent; the reply's body is
// held to kMaxResultBytes (a 200) or kMaxErrorReplyBytes, or streamed to on_piece; cancel ends
// the wait at once and closes the connection.
rtfs::Expected<DaemonReply, DaemonFailure> post_over_unix_socket(
    const DaemonConnection& conn, const std::string& path, const std::string& body, const CancelToken& cancel,
    const std::function<void(std::string_view)>& on_piece);

}  // namespace microvm::cli
