// ccos.network.http-fetch: `(http-fetch url)` or `(http-fetch {:url :method :headers :body})`
// -> {:status 200 :headers {"content-type" "..."} :body "..."}. Every connection, including
// each redirect hop, passes the host's network gate first and is recorded.
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "capabilities.hpp"
#include "rtfs/host/fetch_url.hpp"
#include "rtfs/host/http_transfer.hpp"
#include "rtfs/printer.hpp"

namespace rtfs::host {

namespace {

constexpr const char* kFetch = "ccos.network.http-fetch";

struct Endpoint {
    std::string scheme;
    std::string host;  // without IPv6 brackets
    int port = 0;
};

Result<Endpoint> endpoint_of(const std::string& url) {
    auto parsed = parse_fetch_url(url);
    if (!parsed) {
        const UrlRefusal& r = parsed.error();
        switch (r.why) {
            case UrlRefusal::Why::NoLibrary: return capability_error(kFetch, r.detail);
            case UrlRefusal::Why::Invalid:
                return error(ErrorKind::InvalidArgument, std::string(kFetch) + ": invalid URL '" + url + "'");
            case UrlRefusal::Why::Scheme:
                return capability_error(kFetch, "unsupported URL scheme '" + r.detail + "' in '" + url +
                                                    "' (only http and https)");
            case UrlRefusal::Why::UserInfo:
                return error(ErrorKind::InvalidArgument,
                             std::string(kFetch) + ": the URL '" + url +
                                 "' carries user info (name@ or name:password@); send credentials in an "
                                 "Authorization header instead");
            case UrlRefusal::Why::NoHost:
                return error(ErrorKind::InvalidArgument, std::string(kFetch) + ": no host in '" + url + "'");
        }
        return error(ErrorKind::InvalidArgument, std::string(kFetch) + ": invalid URL '" + url + "'");
    }
    return Endpoint{std::move(parsed->scheme), std::move(parsed->host), parsed->port};
}

bool is_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                                      std::string_view::npos;
    });
}

Unexpected<Error> bad_request(const std::string& why) {
    return error(ErrorKind::InvalidArgument, std::string(kFetch) + ": " + why);
}

// A string, or the name of a keyword.
const std::string* text_of(const Value& v) {
    return v.is(Type::String) || v.is(Type::Keyword) ? &v.str() : nullptr;
}

Expected<void, Error> add_headers(HttpExchange& r, const Value& headers) {
    if (headers.is_nil()) return Ok{};
    if (!headers.is(Type::Map))
        return error(ErrorKind::TypeError, std::string("Type error in ") + kFetch +
                                               ": expected map for :headers, got " +
                                               type_name(headers));
    for (const auto& [k, v] : headers.map().entries()) {
        const std::string* name = text_of(k);
        if (!name || !is_token(*name)) return bad_request("invalid header name " + print(k));
        std::string value = to_display(v);
        if (value.find_first_of("\r\n") != std::string::npos ||
            value.find('\0') != std::string::npos)
            return bad_request("header " + *name + " has a line break or NUL in its value");
        r.headers.emplace_back(*name, std::move(value));
    }
    return Ok{};
}

Result<HttpExchange> parse_request(std::span<const Value> args) {
    RTFS_CHECK(check_arity(kFetch, args, 1, 1));
    HttpExchange r;
    r.method = "GET";
    if (args[0].is(Type::String)) {
        r.url = args[0].str();
        return r;
    }
    if (!args[0].is(Type::Map))
        return error(ErrorKind::TypeError, std::string("Type error in ") + kFetch +
                                               ": expected string or map, got " +
                                               type_name(args[0]));
    for (const auto& [k, v] : args[0].map().entries()) {
        const std::string* key = text_of(k);
        if (!key) return bad_request("unknown request key " + print(k));
        if (*key == "url") {
            RTFS_TRY(const std::string* url, string_arg(kFetch, v));
            r.url = *url;
        } else if (*key == "method") {
            const std::string* m = text_of(v);
            if (!m || !is_token(*m)) return bad_request("invalid method " + print(v));
            r.method = *m;
            std::transform(r.method.begin(), r.method.end(), r.method.begin(),
                           [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        } else if (*key == "headers") {
            RTFS_CHECK(add_headers(r, v));
        } else if (*key == "body") {
            if (v.is_nil()) continue;
            RTFS_TRY(const std::string* body, string_arg(kFetch, v));
            r.body = *body;
            r.has_body = true;
        } else {
            return bad_request("unknown request key " + print(k) +
                               " (expected :url, :method, :headers, :body)");
        }
    }
    if (r.url.empty()) return bad_request("the request map needs a :url");
    return r;
}

Value response_value(HttpReply reply) {
    std::vector<std::pair<Value, Value>> headers;
    for (auto& [name, value] : reply.headers)
        headers.emplace_back(make_string(std::move(name)), make_string(std::move(value)));
    return make_map({
        {make_keyword("status"), Value::integer(reply.status)},
        {make_keyword("headers"), make_map(std::move(headers))},
        {make_keyword("body"), make_string(std::move(reply.body))},
    });
}

bool is_redirect(long status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// The request for the next hop: 303 (and 301/302 after a POST, as browsers do) becomes a GET
// without body; credentials are not sent to a different origin.
void prepare_redirect(HttpExchange& r, long status, const Endpoint& from, const Endpoint& to) {
    if (status == 303 ? r.method != "HEAD"
                      : (status == 301 || status == 302) && r.method == "POST") {
        r.method = "GET";
        r.has_body = false;
        r.body.clear();
    }
    if (from.scheme != to.scheme || from.host != to.host || from.port != to.port) {
        std::erase_if(r.headers, [](const auto& h) {
            return strcasecmp(h.first.c_str(), "authorization") == 0 ||
                   strcasecmp(h.first.c_str(), "cookie") == 0;
        });
    }
}

}  // namespace

Result<Value> network_http_fetch(DefaultHost& host, std::span<const Value> args) {
    RTFS_TRY(HttpExchange request, parse_request(args));
    const HostOptions& opts = host.options();
    RTFS_TRY(Endpoint endpoint, endpoint_of(request.url));
    for (int hop = 0;; ++hop) {
        NetworkRequest record{request.url, request.method, 0, 0, {}};
        if (opts.network_gate) {
            if (auto reason = opts.network_gate(endpoint.host, endpoint.port)) {
                record.error = "denied: " + *reason;
                host.record(std::move(record));
                return security_violation(kFetch, "connection to " + endpoint.host + ":" +
                                                      std::to_string(endpoint.port) +
                                                      " denied: " + *reason);
            }
        }
        auto reply = perform_transfer(request, opts);
        if (!reply) {
            const TransferFailure& f = reply.error();
            record.error = f.message;
            host.record(std::move(record));
            if (f.why == TransferFailure::Why::Interrupted) {
                RTFS_CHECK(check_interrupt(opts));
                // The transfer ran into the deadline a moment before the clock shows it passed.
                return error(ErrorKind::Interrupted, "Evaluation interrupted: time limit reached");
            }
            if (f.why == TransferFailure::Why::Refused)  // as the gate's own refusal above
                return security_violation(kFetch, request.method + " " + request.url + ": " + f.message);
            return capability_error(kFetch, request.method + " " + request.url + ": " + f.message);
        }
        record.status = static_cast<int>(reply->status);
        record.bytes = reply->body.size();
        host.record(std::move(record));
        if (!is_redirect(reply->status) || reply->redirect_url.empty() || opts.max_redirects <= 0)
            return response_value(std::move(*reply));
        if (hop >= opts.max_redirects)
            return capability_error(kFetch, "more than " + std::to_string(opts.max_redirects) +
                                                " redirects, the last to " + reply->redirect_url);
        RTFS_TRY(Endpoint next, endpoint_of(reply->redirect_url));
        prepare_redirect(request, reply->status, endpoint, next);
        request.url = reply->redirect_url;
        endpoint = std::move(next);
    }
}

}  // namespace rtfs::host
