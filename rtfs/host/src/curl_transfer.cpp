// libcurl easy-handle plumbing for ccos.network.http-fetch.
#include "rtfs/host/http_transfer.hpp"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <string_view>

#include "rtfs/ascii_text.hpp"
#include "rtfs/host/curl_library.hpp"

namespace rtfs::host {

namespace {

constexpr size_t kMaxHeaderBytes = 1 << 20;

struct EasyDeleter {
    const CurlLibrary* curl;
    void operator()(CURL* c) const { curl->easy_cleanup(c); }
};
struct SlistDeleter {
    const CurlLibrary* curl;
    void operator()(curl_slist* l) const { curl->slist_free_all(l); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;
using HeaderList = std::unique_ptr<curl_slist, SlistDeleter>;

// The egress proxy on a Unix socket ("socks5h://localhost/path"): its SOCKS5 tunnels carry TLS
// (and SSH) only, and curl reaches no HTTP proxy over a Unix socket, so an http:// URL goes to
// the same socket as an absolute-form proxy request. The socket's path, or empty.
std::string plain_http_proxy_socket(const std::string& url, const std::string& proxy) {
    if (url.size() < 7 || strncasecmp(url.c_str(), "http://", 7) != 0) return {};
    return unix_socket_of_proxy(proxy);
}

curl_socket_t open_given_socket(void* source, curlsocktype, struct curl_sockaddr*) {
    const int fd = (*static_cast<const std::function<int()>*>(source))();
    return fd >= 0 ? fd : CURL_SOCKET_BAD;
}

int already_connected(void*, curl_socket_t, curlsocktype) { return CURL_SOCKOPT_ALREADY_CONNECTED; }

struct UrlDeleter {
    const CurlLibrary* curl;
    void operator()(CURLU* u) const { curl->url_cleanup(u); }
};

// The absolute-form request target of url for the proxy: scheme, host, port, path and query as
// libcurl parses them; never the fragment (a client's own) nor user info (refused: http-fetch
// refuses it up front, and a proxy rejects a target carrying it).
Expected<std::string, TransferFailure> proxy_request_target(const CurlLibrary& curl,
                                                             const std::string& url) {
    auto failed = [](std::string why) {
        return unexpected(TransferFailure{TransferFailure::Why::Failed, std::move(why)});
    };
    std::unique_ptr<CURLU, UrlDeleter> u(curl.url(), UrlDeleter{&curl});
    if (!u) return failed("out of memory");
    if (curl.url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
        return failed("invalid URL '" + url + "'");
    char* user = nullptr;
    if (curl.url_get(u.get(), CURLUPART_USER, &user, 0) == CURLUE_OK && user) {
        curl.free(user);
        return failed("the URL carries user info, which is not sent");
    }
    if (curl.url_set(u.get(), CURLUPART_FRAGMENT, nullptr, 0) != CURLUE_OK)
        return failed("out of memory");
    char* target = nullptr;
    if (curl.url_get(u.get(), CURLUPART_URL, &target, 0) != CURLUE_OK || !target)
        return failed("invalid URL '" + url + "'");
    std::string out = target;
    curl.free(target);
    return out;
}

bool interrupted(const HostOptions& opts) {
    return (opts.cancel && opts.cancel->load(std::memory_order_relaxed)) ||
           (opts.deadline && std::chrono::steady_clock::now() >= *opts.deadline);
}

// State the libcurl callbacks fill in.
struct Sink {
    const HostOptions* opts;
    HttpReply reply;
    size_t header_bytes = 0;
    bool too_large = false;
    // Where each lower-case name is in reply.headers: a search of the list per line was
    // quadratic in a server's 1 MiB of distinct names (red team, 2026-12-07).
    std::unordered_map<std::string, size_t> header_at;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
    auto* s = static_cast<Sink*>(user);
    const size_t len = size * n;
    const uint64_t cap = s->opts->max_response_bytes;
    if (cap && s->reply.body.size() + len > cap) {
        s->too_large = true;
        return 0;  // makes libcurl fail with CURLE_WRITE_ERROR
    }
    s->reply.body.append(data, len);
    return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto* s = static_cast<Sink*>(user);
    const size_t len = size * n;
    s->header_bytes += len;
    if (s->header_bytes > kMaxHeaderBytes) {
        s->too_large = true;
        return 0;
    }
    std::string_view line(data, len);
    if (line.starts_with("HTTP/")) {  // a new response (after 100 Continue): start over
        s->reply.headers.clear();
        s->header_at.clear();
        return len;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return len;  // the blank line ending the headers
    std::string name = rtfs::lower_ascii(rtfs::trim_ascii(line.substr(0, colon)));
    std::string value(rtfs::trim_ascii(line.substr(colon + 1)));
    auto& hs = s->reply.headers;
    auto [at, added] = s->header_at.emplace(name, hs.size());
    if (added)
        hs.emplace_back(std::move(name), std::move(value));
    else
        hs[at->second].second += ", " + value;
    return len;
}

// The reason the egress proxy gave when the response is its own refusal rather than a server's
// answer: it names itself in a Proxy-Status header (RFC 9209), "microvm-egress; error=TYPE;
// details=\"...\"" (proxy/include/proxy/http_request.hpp). Only asked of replies that came
// through the proxy. The proxy relays a server's answer as it comes, so a server that sends such
// a header itself makes its own answer read as a refusal (docs/security.md says so).
std::optional<std::string> egress_proxy_refusal(const HttpReply& reply) {
    constexpr std::string_view kName = "microvm-egress";
    for (const auto& [name, value] : reply.headers) {
        if (name != "proxy-status") continue;
        std::string_view v = value;
        if (!v.starts_with(kName) || (v.size() > kName.size() && v[kName.size()] != ';')) continue;
        std::string details;
        const size_t at = v.find("details=\"");
        if (at != std::string_view::npos) {
            for (size_t i = at + 9; i < v.size() && v[i] != '"'; ++i) {
                if (v[i] == '\\' && i + 1 < v.size()) ++i;
                details += v[i];
            }
        }
        return details.empty() ? std::string("no reason given") : details;
    }
    return std::nullopt;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return interrupted(*static_cast<Sink*>(user)->opts) ? 1 : 0;
}

// The request time limit: the host's HTTP timeout, or less if the evaluation deadline is closer
// (then running out of time is the evaluation's interruption, not a slow server).
struct TimeLimit {
    long ms;
    bool from_deadline;
};

TimeLimit time_limit(const HostOptions& opts) {
    TimeLimit t{static_cast<long>(opts.http_timeout.count()), false};
    if (opts.deadline) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(*opts.deadline -
                                                                 std::chrono::steady_clock::now());
        if (left.count() < t.ms) t = {static_cast<long>(left.count()), true};
    }
    t.ms = std::max<long>(1, t.ms);
    return t;
}

void set_method(const CurlLibrary& curl, CURL* c, const HttpExchange& r) {
    if (r.method == "HEAD") {
        curl.easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (r.method == "GET" && !r.has_body) {
        curl.easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        if (r.method != "POST") curl.easy_setopt(c, CURLOPT_CUSTOMREQUEST, r.method.c_str());
        curl.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
        curl.easy_setopt(c, CURLOPT_POSTFIELDS, r.body.data());
    }
}

Expected<HeaderList, TransferFailure> header_list(const CurlLibrary& curl,
                                                  const HttpExchange& r) {
    HeaderList list(nullptr, SlistDeleter{&curl});
    bool has_expect = false;
    auto append = [&](const std::string& line) {
        curl_slist* next = curl.slist_append(list.get(), line.c_str());
        if (!next) return false;
        (void)list.release();
        list.reset(next);
        return true;
    };
    for (const auto& [name, value] : r.headers) {
        if (name.size() == 6 && strncasecmp(name.c_str(), "expect", 6) == 0) has_expect = true;
        // "Name;" is libcurl's spelling of a header with an empty value.
        if (!append(value.empty() ? name + ";" : name + ": " + value))
            return unexpected(TransferFailure{TransferFailure::Why::Failed, "out of memory"});
    }
    // No "Expect: 100-continue" round trip for request bodies.
    if (!has_expect && !append("Expect:"))
        return unexpected(TransferFailure{TransferFailure::Why::Failed, "out of memory"});
    return list;
}

}  // namespace

namespace {
constexpr std::string_view kSocksOnUnixSocket = "socks5h://localhost";
}  // namespace

std::string unix_socket_proxy_url(const std::string& socket_path) {
    return std::string(kSocksOnUnixSocket) + socket_path;
}

std::string unix_socket_of_proxy(const std::string& proxy) {
    if (!proxy.starts_with(kSocksOnUnixSocket) || proxy.size() <= kSocksOnUnixSocket.size() ||
        proxy[kSocksOnUnixSocket.size()] != '/') {
        return {};
    }
    return proxy.substr(kSocksOnUnixSocket.size());
}

Expected<HttpReply, TransferFailure> perform_transfer(const HttpExchange& request,
                                                      const HostOptions& opts) {
    using Why = TransferFailure::Why;
    auto loaded = curl_library();
    if (!loaded) return unexpected(TransferFailure{Why::Failed, loaded.error()});
    const CurlLibrary& curl = **loaded;
    EasyHandle easy(curl.easy_init(), EasyDeleter{&curl});
    if (!easy) return unexpected(TransferFailure{Why::Failed, "cannot create a libcurl handle"});
    CURL* c = easy.get();
    auto headers = header_list(curl, request);
    if (!headers) return unexpected(std::move(headers).error());

    Sink sink{&opts, {}, 0, false};
    char errbuf[CURL_ERROR_SIZE] = {};
    const TimeLimit limit = time_limit(opts);
    curl.easy_setopt(c, CURLOPT_URL, request.url.c_str());
    curl.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // the caller follows, through the gate
    // Connect only where the gate allowed: straight, or through the sandbox's egress proxy
    // (which judges the host again, resolves it itself and checks the TLS server name).
    const std::string proxy_socket = plain_http_proxy_socket(request.url, opts.http_proxy);
    std::string target;
    if (proxy_socket.empty()) {
        curl.easy_setopt(c, CURLOPT_PROXY, opts.http_proxy.c_str());
    } else {
        auto built = proxy_request_target(curl, request.url);
        if (!built) return unexpected(std::move(built).error());
        target = std::move(*built);
        curl.easy_setopt(c, CURLOPT_PROXY, "");
        curl.easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, proxy_socket.c_str());
        curl.easy_setopt(c, CURLOPT_REQUEST_TARGET, target.c_str());  // absolute form
    }
    if (opts.proxy_socket && !unix_socket_of_proxy(opts.http_proxy).empty()) {
        // The host's connected socket instead of a connect() by path (HostOptions::proxy_socket).
        curl.easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_given_socket);
        curl.easy_setopt(c, CURLOPT_OPENSOCKETDATA, &opts.proxy_socket);
        curl.easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, already_connected);
    }
    curl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl.easy_setopt(c, CURLOPT_USERAGENT, "rtfs-host/1");
    curl.easy_setopt(
        c, CURLOPT_CONNECTTIMEOUT_MS,
        std::min<long>(limit.ms, static_cast<long>(opts.http_connect_timeout.count())));
    curl.easy_setopt(c, CURLOPT_TIMEOUT_MS, limit.ms);
    if (opts.max_response_bytes)
        curl.easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                         static_cast<curl_off_t>(opts.max_response_bytes));
    curl.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl.easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl.easy_setopt(c, CURLOPT_HEADERDATA, &sink);
    curl.easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl.easy_setopt(c, CURLOPT_XFERINFODATA, &sink);
    curl.easy_setopt(c, CURLOPT_HTTPHEADER, headers->get());
    set_method(curl, c, request);

    const CURLcode rc = curl.easy_perform(c);
    if (rc != CURLE_OK) {
        if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED)
            return unexpected(TransferFailure{
                Why::TooLarge, "response exceeds the limit of " +
                                   std::to_string(opts.max_response_bytes) + " bytes"});
        if (rc == CURLE_ABORTED_BY_CALLBACK || interrupted(opts) ||
            (rc == CURLE_OPERATION_TIMEDOUT && limit.from_deadline))
            return unexpected(TransferFailure{Why::Interrupted, "interrupted"});
        std::string msg = curl.easy_strerror(rc);
        if (errbuf[0]) msg += std::string(": ") + errbuf;
        // The egress proxy's SOCKS5 refusal ("not allowed by ruleset"): the https:// form of its
        // 403, a refusal of the fetch as for http:// (below).
        long proxy_error = 0;
        if (rc == CURLE_PROXY && !opts.http_proxy.empty() &&
            curl.easy_getinfo(c, CURLINFO_PROXY_ERROR, &proxy_error) == CURLE_OK &&
            proxy_error == CURLPX_REPLY_NOT_ALLOWED) {
            return unexpected(TransferFailure{Why::Refused, "the egress proxy refused the connection: " + msg});
        }
        if (rc == CURLE_OPERATION_TIMEDOUT) return unexpected(TransferFailure{Why::TimedOut, msg});
        return unexpected(TransferFailure{Why::Failed, msg});
    }
    curl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &sink.reply.status);
    // An http:// request through the egress proxy gets the proxy's refusals (a name resolving to
    // a refused address, a limit reached, a server it could not reach) as HTTP responses: they
    // are failures of the fetch, never the server's answer.
    if (!opts.http_proxy.empty()) {
        if (auto reason = egress_proxy_refusal(sink.reply)) {
            // 403: what the proxy will not reach (its policy, a refused address); others (a
            // limit, a server it could not reach, a malformed target) fail as transfers do.
            return unexpected(TransferFailure{
                sink.reply.status == 403 ? Why::Refused : Why::Failed,
                "the egress proxy answered " + std::to_string(sink.reply.status) + " itself: " + *reason});
        }
    }
    char* location = nullptr;
    if (curl.easy_getinfo(c, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location)
        sink.reply.redirect_url = location;
    return std::move(sink.reply);
}

}  // namespace rtfs::host
