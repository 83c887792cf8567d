// One HTTP exchange through libcurl: no redirects followed, no proxy, only http and https,
// bounded in time and size, interruptible through the host's cancel flag and deadline. The one
// HTTP client of the project: DefaultHost's http-fetch (which follows redirects through its gate)
// and the wasm provider's microvm.http_fetch import (which follows none) both send through it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "rtfs/host/default_host.hpp"

namespace rtfs::host {

struct HttpExchange {
    std::string url;
    std::string method;  // upper case
    std::vector<std::pair<std::string, std::string>> headers;
    bool has_body = false;
    std::string body;
};

struct HttpReply {
    long status = 0;
    std::vector<std::pair<std::string, std::string>> headers;  // lower-case names, merged
    std::string body;
    std::string redirect_url;  // absolute Location target of a 3xx, else empty
};

struct TransferFailure {
    // Refused: the egress proxy refused to reach the target (its policy, a refused address),
    // which an http:// request through it gets as the proxy's own 403 response.
    enum class Why { Failed, Refused, TooLarge, TimedOut, Interrupted } why = Why::Failed;
    std::string message;
};

Expected<HttpReply, TransferFailure> perform_transfer(const HttpExchange& request,
                                                      const HostOptions& opts);

// The egress proxy on a Unix socket is named "socks5h://localhost/PATH" (HostOptions::http_proxy):
// its URL for a socket path, and the socket path of such a URL (empty for any other proxy).
std::string unix_socket_proxy_url(const std::string& socket_path);
std::string unix_socket_of_proxy(const std::string& proxy);

}  // namespace rtfs::host
