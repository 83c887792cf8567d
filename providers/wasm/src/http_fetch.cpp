#include "http_fetch.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace microvm::wasm {
namespace {

void ensure_curl_initialized() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string url_part(CURLU* u, CURLUPart part, unsigned flags = 0) {
    char* value = nullptr;
    if (curl_url_get(u, part, &value, flags) != CURLUE_OK || !value) return {};
    std::string s(value);
    curl_free(value);
    return s;
}

struct Transfer {
    HttpResponse response;
    size_t max_body = 0;
    bool too_large = false;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t n = size * count;
    if (t->response.body.size() + n > t->max_body) {
        t->too_large = true;
        return 0;  // aborts the transfer
    }
    t->response.body.append(data, n);
    return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t n = size * count;
    std::string line(data, n);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    if (line.rfind("HTTP/", 0) == 0) {
        t->response.headers.clear();  // a new response (after 100 Continue)
    } else if (auto colon = line.find(':'); colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        size_t start = line.find_first_not_of(" \t", colon + 1);
        t->response.headers.emplace_back(
            name, start == std::string::npos ? std::string() : line.substr(start));
    }
    return n;
}

struct CurlDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

Expected<ParsedUrl> parse_http_url(const std::string& url) {
    ensure_curl_initialized();
    std::shared_ptr<void> handle(curl_url(),
                                 [](void* u) { curl_url_cleanup(static_cast<CURLU*>(u)); });
    auto* u = static_cast<CURLU*>(handle.get());
    if (!u || curl_url_set(u, CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
        return fail(Failure::Kind::InvalidInput, "not a valid absolute URL: " + url);
    }
    std::string scheme = url_part(u, CURLUPART_SCHEME);
    if (scheme != "http" && scheme != "https") {
        return fail(Failure::Kind::InvalidInput,
                    "only http and https URLs can be fetched, not " + scheme + "://");
    }
    ParsedUrl parsed;
    parsed.host = url_part(u, CURLUPART_HOST);
    if (parsed.host.empty()) return fail(Failure::Kind::InvalidInput, "URL without a host: " + url);
    parsed.port = std::atoi(url_part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT).c_str());
    parsed.handle = std::move(handle);
    return parsed;
}

Expected<HttpResponse> perform_http(const ParsedUrl& url, const HttpRequest& request,
                                    std::chrono::milliseconds timeout, size_t max_body) {
    ensure_curl_initialized();
    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (!curl) return fail(Failure::Kind::SetupError, "curl_easy_init failed");
    CURL* c = curl.get();
    Transfer transfer;
    transfer.max_body = max_body;

    std::unique_ptr<curl_slist, SlistDeleter> headers;
    for (const auto& [name, value] : request.headers) {
        std::string line = name + ": " + value;
        curl_slist* appended = curl_slist_append(headers.get(), line.c_str());
        if (!appended) return fail(Failure::Kind::SetupError, "out of memory for headers");
        headers.release();
        headers.reset(appended);
    }
    curl_easy_setopt(c, CURLOPT_CURLU, static_cast<CURLU*>(url.handle.get()));
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");  // connect only where the policy allowed, never via
                                             // a proxy from the host's environment
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(std::max<int64_t>(1, timeout.count())));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
    if (request.method == "HEAD") {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (request.method != "GET") {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(request.body.size()));
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
        if (request.method != "POST")
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }

    CURLcode rc = curl_easy_perform(c);
    if (transfer.too_large) {
        return fail(Failure::Kind::InvalidInput,
                    "response body exceeds " + std::to_string(max_body) + " bytes");
    }
    if (rc != CURLE_OK) return fail(Failure::Kind::SetupError, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &transfer.response.status);
    return std::move(transfer.response);
}

}  // namespace microvm::wasm
