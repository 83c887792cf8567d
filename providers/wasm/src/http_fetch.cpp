#include "http_fetch.hpp"

#include <algorithm>
#include <memory>

#include "rtfs/host/curl_library.hpp"
#include "rtfs/host/http_transfer.hpp"

namespace microvm::wasm {
namespace {

using rtfs::host::CurlLibrary;

std::string url_part(const CurlLibrary& curl, CURLU* u, CURLUPart part, unsigned flags = 0) {
    char* value = nullptr;
    if (curl.url_get(u, part, &value, flags) != CURLUE_OK || !value) return {};
    std::string s(value);
    curl.free(value);
    return s;
}

}  // namespace

Expected<ParsedUrl> parse_http_url(const std::string& url) {
    auto loaded = rtfs::host::curl_library();
    if (!loaded) return fail(Failure::Kind::SetupError, loaded.error());
    const CurlLibrary& curl = **loaded;
    std::unique_ptr<CURLU, void (*)(CURLU*)> handle(curl.url(), curl.url_cleanup);
    CURLU* u = handle.get();
    if (!u || curl.url_set(u, CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
        return fail(Failure::Kind::InvalidInput, "not a valid absolute URL: " + url);
    }
    std::string scheme = url_part(curl, u, CURLUPART_SCHEME);
    if (scheme != "http" && scheme != "https") {
        return fail(Failure::Kind::InvalidInput,
                    "only http and https URLs can be fetched, not " + scheme + "://");
    }
    // Refused, never sent, as RTFS's http-fetch refuses it: user info is no part of what the
    // policy judges, and the egress proxy takes no request target carrying it.
    char* user = nullptr;
    if (curl.url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK && user) {
        curl.free(user);
        return fail(Failure::Kind::InvalidInput,
                    "URL with user info (name@ or name:password@): " + url +
                        "; send credentials in an Authorization header instead");
    }
    ParsedUrl parsed;
    parsed.host = url_part(curl, u, CURLUPART_HOST);
    if (parsed.host.empty()) return fail(Failure::Kind::InvalidInput, "URL without a host: " + url);
    parsed.port = std::atoi(url_part(curl, u, CURLUPART_PORT, CURLU_DEFAULT_PORT).c_str());
    parsed.text = url_part(curl, u, CURLUPART_URL);  // curl's normalised form, which is what is sent
    return parsed;
}

Expected<HttpResponse> perform_http(const ParsedUrl& url, const HttpRequest& request,
                                    std::chrono::milliseconds timeout, size_t max_body,
                                    const std::string& http_proxy) {
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
    auto reply = rtfs::host::perform_transfer(exchange, options);
    if (!reply) {
        const auto& f = reply.error();
        return fail(f.why == rtfs::host::TransferFailure::Why::TooLarge ? Failure::Kind::InvalidInput
                                                                          : Failure::Kind::SetupError,
                    f.message);
    }
    HttpResponse response;
    response.status = reply->status;
    response.headers = std::move(reply->headers);
    response.body = std::move(reply->body);
    return response;
}

}  // namespace microvm::wasm
