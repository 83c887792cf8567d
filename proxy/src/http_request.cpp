// Strict parsing of a proxy request head, and the heads the proxy writes in return.
#include "proxy/http_request.hpp"

#include <algorithm>
#include <charconv>

#include "microvm/policy.hpp"
#include "microvm/http_text.hpp"
#include "microvm/decimal.hpp"

namespace microvm::proxy {
namespace {

bool is_tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Control characters other than HTAB (and DEL): never in a request head line.
bool is_ctl(char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
}

using http_text::iequals;
using http_text::trim_ows;

std::optional<uint16_t> parse_port(std::string_view s) {
    const std::optional<unsigned> value = s.size() <= 5 ? parse_decimal<unsigned>(s) : std::nullopt;
    if (!value || *value < 1 || *value > 65535) return std::nullopt;
    return static_cast<uint16_t>(*value);
}

// The header names a Connection header value lists ("keep-alive, X-Secret").
std::vector<std::string_view> connection_tokens(std::string_view value) {
    std::vector<std::string_view> tokens;
    while (!value.empty()) {
        const size_t comma = value.find(',');
        std::string_view token = trim_ows(value.substr(0, comma));
        if (!token.empty()) tokens.push_back(token);
        value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    }
    return tokens;
}

// Headers the proxy itself relies on: the body's framing and the target's name. Connection
// naming one would make the proxy drop it from the forwarded head (a hop-by-hop header) while
// still acting on it: without its Content-Length, the body would reach the server as a second,
// unjudged request.
constexpr std::string_view kNotHopByHop[] = {"content-length", "transfer-encoding", "host"};

struct Authority {
    std::string host;  // without IPv6 brackets
    std::optional<uint16_t> port;
};

// "host", "host:port", "[v6]" or "[v6]:port". Hosts are judged later (canonical_host); here only
// the characters a host can contain pass, so that nothing odd ("%", "@", "\") reaches a resolver.
std::optional<Authority> parse_authority(std::string_view s) {
    Authority a;
    std::string_view host = s;
    std::string_view port;
    bool has_port = false;
    if (!s.empty() && s.front() == '[') {
        size_t close = s.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        host = s.substr(1, close - 1);
        if (host.empty() || host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos)
            return std::nullopt;
        std::string_view rest = s.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            port = rest.substr(1);
            has_port = true;
        }
    } else {
        size_t colon = s.rfind(':');
        if (colon != std::string_view::npos) {
            host = s.substr(0, colon);
            port = s.substr(colon + 1);
            has_port = true;
        }
        const bool ok_chars = std::all_of(host.begin(), host.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '.' || c == '_';
        });
        if (host.empty() || !ok_chars) return std::nullopt;
    }
    a.host = std::string(host);
    if (has_port) {
        a.port = parse_port(port);
        if (!a.port) return std::nullopt;
    }
    return a;
}

struct Parser {
    std::string_view input;
    size_t max_bytes;
    size_t max_headers;
    HttpParse out;
    bool saw_host = false;
    std::optional<uint64_t> content_length;

    HttpParse fail(int status, std::string message) {
        out.state = HttpParse::State::Failed;
        out.status = status;
        out.message = std::move(message);
        return std::move(out);
    }

    // What arrived of a line whose CRLF has not: fail at once on bytes no valid line holds, so
    // that garbage (a TLS handshake sent to the proxy, binary noise) is refused without waiting.
    std::optional<HttpParse> check_partial(std::string_view partial, bool first_line) {
        if (first_line && !partial.empty() && !is_tchar(partial.front())) {
            return fail(400, "not an HTTP request (the request line starts with a byte no method has)");
        }
        for (size_t i = 0; i < partial.size(); ++i) {
            const bool trailing_cr = partial[i] == '\r' && i + 1 == partial.size();
            if (is_ctl(partial[i]) && !trailing_cr) return fail(400, control_message(partial[i]));
        }
        return std::nullopt;
    }

    static std::string control_message(char c) {
        if (c == '\n') return "bare LF in the request head (lines end with CRLF)";
        if (c == '\r') return "bare CR in the request head";
        return "control character in the request head";
    }

    std::optional<HttpParse> request_line(std::string_view line) {
        size_t sp1 = line.find(' ');
        size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
        if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
            return fail(400, "malformed request line (expected METHOD TARGET HTTP/1.x)");
        }
        std::string_view method = line.substr(0, sp1);
        std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
        std::string_view version = line.substr(sp2 + 1);
        if (method.empty() || method.size() > 32 || !std::all_of(method.begin(), method.end(), is_tchar))
            return fail(400, "malformed method in the request line");
        if (target.empty()) return fail(400, "empty request target");
        if (version != "HTTP/1.1" && version != "HTTP/1.0")
            return fail(version.starts_with("HTTP/") ? 505 : 400, "unsupported HTTP version");
        HttpRequest& r = out.request;
        r.method = std::string(method);
        r.version = std::string(version);
        r.url = std::string(target);
        if (method == "CONNECT") {
            r.form = HttpRequest::Form::Connect;
            auto a = parse_authority(target);
            if (!a || !a->port) return fail(400, "CONNECT needs HOST:PORT (a valid host and a port 1-65535)");
            r.host = std::move(a->host);
            r.port = *a->port;
            return std::nullopt;
        }
        r.form = HttpRequest::Form::Absolute;
        if (target.front() == '/' || target == "*") {
            return fail(400, "a request to the proxy itself: a proxied request names an absolute "
                             "http:// URL (is the program using the proxy as its server?)");
        }
        size_t scheme_end = target.find("://");
        if (scheme_end == std::string_view::npos) return fail(400, "malformed request target");
        std::string_view scheme = target.substr(0, scheme_end);
        if (iequals(scheme, "https")) {
            return fail(501, "https:// URLs go through CONNECT (TLS stays end to end)");
        }
        if (!iequals(scheme, "http")) return fail(400, "unsupported URL scheme (only http://)");
        if (target.find('#') != std::string_view::npos) return fail(400, "a fragment in the request target");
        std::string_view rest = target.substr(scheme_end + 3);
        size_t auth_end = rest.find_first_of("/?");
        std::string_view authority = rest.substr(0, auth_end);
        if (authority.find('@') != std::string_view::npos) {
            return fail(400, "user info in the URL is not accepted");
        }
        auto a = parse_authority(authority);
        if (!a) return fail(400, "malformed host or port in the URL");
        r.host = std::move(a->host);
        r.port = a->port.value_or(80);
        std::string_view path = auth_end == std::string_view::npos ? "" : rest.substr(auth_end);
        r.path = path.empty() ? "/" : path.front() == '?' ? "/" + std::string(path) : std::string(path);
        return std::nullopt;
    }

    std::optional<HttpParse> header_line(std::string_view line) {
        if (line.front() == ' ' || line.front() == '\t') {
            return fail(400, "obsolete line folding in the request head");
        }
        if (out.request.headers.size() >= max_headers) {
            return fail(431, "more than " + std::to_string(max_headers) + " header lines");
        }
        size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return fail(400, "malformed header line");
        std::string_view name = line.substr(0, colon);
        if (!std::all_of(name.begin(), name.end(), is_tchar)) {
            return fail(400, "malformed header name (whitespace before ':'?)");
        }
        std::string_view value = trim_ows(line.substr(colon + 1));
        HttpRequest& r = out.request;
        if (r.form == HttpRequest::Form::Absolute) {
            if (iequals(name, "transfer-encoding")) {
                return fail(411, "request bodies with Transfer-Encoding are not supported; send "
                                 "Content-Length");
            }
            if (iequals(name, "content-length")) {
                const std::optional<uint64_t> n = value.size() <= 18 ? parse_decimal<uint64_t>(value) : std::nullopt;
                if (!n) return fail(400, "malformed Content-Length");
                if (content_length && *content_length != *n) return fail(400, "conflicting Content-Length headers");
                content_length = *n;
            }
            if (iequals(name, "host")) {
                if (saw_host) return fail(400, "more than one Host header");
                saw_host = true;
            }
            if (iequals(name, "connection")) {
                for (std::string_view token : connection_tokens(value)) {
                    for (std::string_view kept : kNotHopByHop) {
                        if (iequals(token, kept)) {
                            return fail(400, "the Connection header names " + std::string(token) +
                                                 ", which the proxy needs to forward the request as "
                                                 "judged (it cannot be dropped as hop-by-hop)");
                        }
                    }
                }
            }
        }
        r.headers.push_back({std::string(name), std::string(value)});
        return std::nullopt;
    }

    HttpParse run() {
        size_t pos = 0;
        for (bool first = true;; first = false) {
            size_t eol = input.find("\r\n", pos);
            if (eol == std::string_view::npos || eol + 2 > max_bytes) {
                std::string_view partial = input.substr(pos, max_bytes - pos);  // pos <= max_bytes
                if (auto failed = check_partial(partial, first)) return std::move(*failed);
                if (input.size() >= max_bytes) {
                    return fail(431, "request head larger than " + std::to_string(max_bytes) + " bytes");
                }
                return std::move(out);  // Incomplete
            }
            std::string_view line = input.substr(pos, eol - pos);
            if (auto failed = check_partial(line, first)) return std::move(*failed);
            pos = eol + 2;
            if (first) {
                if (auto failed = request_line(line)) return std::move(*failed);
                continue;
            }
            if (line.empty()) break;
            if (auto failed = header_line(line)) return std::move(*failed);
        }
        out.request.content_length = content_length.value_or(0);
        out.request.head_bytes = pos;
        out.state = HttpParse::State::Done;
        return std::move(out);
    }
};

std::string bracketed(const std::string& host) {
    return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

}  // namespace

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
    for (const HttpHeader& h : headers) {
        if (iequals(h.name, name)) return std::string_view(h.value);
    }
    return std::nullopt;
}

HttpParse parse_http_request(std::string_view input, size_t max_bytes, size_t max_headers) {
    return Parser{input, max_bytes, max_headers, {}}.run();
}

std::optional<std::string> host_header_mismatch(const HttpRequest& request) {
    auto value = request.header("host");
    if (!value) return std::nullopt;
    auto a = parse_authority(*value);
    if (!a) return "Host header '" + std::string(*value) + "' is not HOST[:PORT]";
    auto header_host = canonical_host(a->host);
    auto url_host = canonical_host(request.host);
    // Say what is wrong: "0" named the same (invalid) host on both sides, and a mismatch claimed
    // otherwise (red team, 2026-12-04).
    if (!url_host) return "the URL's host '" + request.host + "' is not a valid host name or IP address";
    if (!header_host) return "Host header '" + std::string(*value) + "' is not a valid host name or IP address";
    const bool same = *header_host == *url_host && a->port.value_or(80) == request.port;
    if (same) return std::nullopt;
    return "Host header '" + std::string(*value) + "' names another host than the URL's " +
           bracketed(request.host) + ":" + std::to_string(request.port);
}

std::string origin_form_head(const HttpRequest& r, std::string_view host) {
    std::vector<std::string_view> named_by_connection;
    for (const HttpHeader& h : r.headers) {
        if (!iequals(h.name, "connection")) continue;
        for (std::string_view token : connection_tokens(h.value)) named_by_connection.push_back(token);
    }
    static constexpr std::string_view kHopByHop[] = {
        "host", "connection", "proxy-connection", "keep-alive", "proxy-authorization",
        "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade"};
    auto dropped = [&](std::string_view name) {
        for (std::string_view h : kHopByHop)
            if (iequals(name, h)) return true;
        for (std::string_view h : named_by_connection)
            if (iequals(name, h)) return true;
        return false;
    };
    std::string out = r.method + " " + r.path + " " + r.version + "\r\n";
    out += "Host: " + bracketed(std::string(host)) + (r.port == 80 ? "" : ":" + std::to_string(r.port)) + "\r\n";
    for (const HttpHeader& h : r.headers) {
        if (!dropped(h.name)) out += h.name + ": " + h.value + "\r\n";
    }
    out += "Connection: close\r\n\r\n";
    return out;
}

const char* http_reason_phrase(int status) {
    switch (status) {
        case 200: return "Connection established";
        case 400: return "Bad Request";
        case 403: return "Forbidden";
        case 408: return "Request Timeout";
        case 411: return "Length Required";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
        default: return "Error";
    }
}

namespace {

// RFC 9209's error type for a refusal with this status.
const char* proxy_status_error(int status) {
    switch (status) {
        case 403: return "http_request_denied";
        case 429: return "connection_limit_reached";
        case 502:
        case 503: return "destination_unavailable";
        case 504: return "connection_timeout";
        default: return "http_request_error";
    }
}

// An RFC 8941 string: printable ASCII, with '"' and '\' escaped; anything else becomes '?'.
std::string structured_string(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c >= 0x20 && c <= 0x7e ? c : '?';
    }
    return out + '"';
}

}  // namespace

std::string http_refusal(int status, std::string_view reason) {
    std::string body = "microvm proxy: ";
    for (char c : reason) body += is_ctl(c) ? ' ' : c;  // the reason may quote the client's bytes
    body += "\n";
    return "HTTP/1.1 " + std::to_string(status) + " " + http_reason_phrase(status) +
           "\r\nProxy-Status: " + std::string(kProxyStatusName) + "; error=" +
           proxy_status_error(status) + "; details=" + structured_string(reason) +
           "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace microvm::proxy
