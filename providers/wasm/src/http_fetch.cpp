#include "http_fetch.hpp"

#include <algorithm>
#include <memory>

#include "rtfs/host/fetch_url.hpp"
#include "rtfs/host/http_transfer.hpp"

namespace microvm::wasm {

Expected<ParsedUrl> parse_http_url(const std::string& url) {
    using Why = rtfs::host::UrlRefusal::Why;
    auto parsed = rtfs::host::parse_fetch_url(url);
    if (!parsed) {
        const rtfs::host::UrlRefusal& r = parsed.error();
        switch (r.why) {
            case Why::NoLibrary: return fail(Failure::Kind::SetupError, r.detail);
            case Why::Scheme:
                return fail(Failure::Kind::InvalidInput,
                            "only http and https URLs can be fetched, not " + r.detail + "://");
            case Why::UserInfo:
                return fail(Failure::Kind::InvalidInput,
                            "URL with user info (name@ or name:password@): " + url +
                                "; send credentials in an Authorization header instead");
            case Why::NoHost: return fail(Failure::Kind::InvalidInput, "URL without a host: " + url);
            case Why::Invalid: break;
        }
        return fail(Failure::Kind::InvalidInput, "not a valid absolute URL: " + url);
    }
    return ParsedUrl{std::move(parsed->host), parsed->port, std::move(parsed->text)};
}

rtfs::Expected<HttpResponse, rtfs::host::TransferFailure> perform_http(const ParsedUrl& url, const HttpRequest& request,
                                    std::chrono::milliseconds timeout, size_t max_body,
                                    const std::string& http_proxy, const std::atomic<bool>* cancel,
                                    const std::function<int()>& proxy_socket) {
    rtfs::host::HttpExchange exchange;
    exchange.url = url.text;
    exchange.method = request.method;
    exchange.headers = request.headers;
    exchange.has_body = !request.body.empty() || request.method == "POST" ||
                        request.method == "PUT";
    exchange.body = request.body;
    rtfs::host::HostOptions options;
    options.http_timeout = std::max(timeout, std::chrono::milliseconds(1));
    options.http_connect_timeout = options.http_timeout;
    options.max_response_bytes = max_body;
    options.http_proxy = http_proxy;
    options.proxy_socket = proxy_socket;
    options.cancel = cancel;
    auto reply = rtfs::host::perform_transfer(exchange, options);
    if (!reply) return rtfs::unexpected(std::move(reply).error());
    HttpResponse response;
    response.status = reply->status;
    response.headers = std::move(reply->headers);
    response.body = std::move(reply->body);
    return response;
}

}  // namespace microvm::wasm
