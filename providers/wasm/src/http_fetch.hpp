// One HTTP(S) request for the microvm.http_fetch host import, sent by the project's one HTTP
// client (rtfs/host/http_transfer.hpp). The caller checks the network policy first (against
// parse_http_url's host), then calls perform_http with that parse.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "microvm/error.hpp"
#include "rtfs/host/http_transfer.hpp"

namespace microvm::wasm {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
    std::string url;
    std::string method = "GET";
    HttpHeaders headers;
    std::string body;
};

struct HttpResponse {
    long status = 0;
    HttpHeaders headers;  // names lower-cased, in arrival order
    std::string body;
};

// A URL parsed by curl (rtfs::host::parse_fetch_url, RTFS's http-fetch's own parse). The
// request is sent to `text`, curl's own normalised rendering of this parse, so the host the
// policy checked is the host curl connects to.
struct ParsedUrl {
    std::string host;  // as curl reports it, IPv6 literals without their brackets
    int port = 0;      // explicit or the scheme's default
    std::string text;  // the normalised URL
};

// InvalidInput unless url is an absolute http:// or https:// URL with a host.
Expected<ParsedUrl> parse_http_url(const std::string& url);

// Sends the request: no redirects followed, only http/https, the body capped at max_body bytes.
// Errors: connection failures, timeouts, an oversized body, the egress proxy's own refusal.
// http_proxy: send through this proxy (the egress proxy's URL), empty: straight. cancel, when
// set, ends the transfer within a second (a hung server held a cancelled run to its timeout;
// red team, 2026-12-06).
rtfs::Expected<HttpResponse, rtfs::host::TransferFailure> perform_http(const ParsedUrl& url, const HttpRequest& request,
                                    std::chrono::milliseconds timeout, size_t max_body,
                                    const std::string& http_proxy = {},
                                    const std::atomic<bool>* cancel = nullptr,
                                    const std::function<int()>& proxy_socket = {});

}  // namespace microvm::wasm
