// The HTTP client of `microvm --daemon`: one request to microvmd over its Unix socket, or over
// TCP (http:// or https://) with a bearer token. Over TCP libcurl does the HTTP, loaded only
// then (rtfs/host/curl_library.hpp); over the Unix socket a client of its own does
// (daemon_unix_client.hpp), so neither the CLI's start-up nor a request to a local daemon pays
// for loading libcurl.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "microvm/cancel.hpp"
#include "microvm/error.hpp"

namespace microvm::cli {

// unix:PATH | http://HOST:PORT[/PREFIX] | https://HOST:PORT[/PREFIX]
struct DaemonAddress {
    std::string text;       // as given, for messages
    std::string unix_path;  // empty for TCP
    std::string base_url;   // the URL the API's paths are appended to
    // http:// to a host other than loopback (127.0.0.0/8, ::1, localhost): a bearer token would
    // cross the network in clear text, so the client refuses to send one there.
    bool cleartext_off_host = false;
};
Expected<DaemonAddress> parse_daemon_address(std::string_view text);

// The first token of a token file in microvmd's format (`ID:SECRET` or a bare secret per line,
// `#` comments); the file must not be readable by group or others, as the daemon requires.
Expected<std::string> read_token_file(const std::string& path);

struct DaemonConnection {
    DaemonAddress address;
    std::optional<std::string> token;    // sent as "Authorization: Bearer TOKEN"
    std::optional<std::string> ca_file;  // https: the CA bundle the daemon's certificate is checked against
};

// The most the client holds of one result document (a 200 reply, or one line of a stream): the
// daemon's output caps bound it, JSON escaping can grow binary output sixfold, and more than this
// is a broken or hostile daemon's. Error replies are held to 1 MiB.
inline constexpr size_t kMaxResultBytes = size_t{256} << 20;
inline constexpr size_t kMaxErrorReplyBytes = size_t{1} << 20;

struct DaemonReply {
    long status = 0;
    std::string body;         // the whole body, unless it went to on_piece
    std::string retry_after;  // the Retry-After header, if any
};

struct DaemonFailure {
    enum class Why { Unreachable, Broken, Cancelled } why;
    std::string message;
};

// POSTs a JSON body to path and returns the reply. When on_piece is set, the body of a 200 reply
// goes to it piece by piece as it arrives (a streamed execution) instead of into body. cancel
// aborts the request (within about a second), which closes the connection: the daemon then
// cancels the execution.
rtfs::Expected<DaemonReply, DaemonFailure> post_json(
    const DaemonConnection& conn, const std::string& path, const std::string& body,
    const CancelToken& cancel, const std::function<void(std::string_view)>& on_piece = nullptr);

}  // namespace microvm::cli
