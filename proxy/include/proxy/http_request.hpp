// The request head a client sends an HTTP proxy: "CONNECT host:port" (a tunnel) or a request in
// absolute form ("GET http://host:port/path HTTP/1.1"), parsed strictly, within a size limit.
// Untrusted input: every byte comes from the sandboxed program.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace microvm::proxy {

struct HttpHeader {
    std::string name;  // as sent; compare case-insensitively
    std::string value; // surrounding whitespace removed
};

struct HttpRequest {
    enum class Form { Connect, Absolute };
    Form form = Form::Connect;
    std::string method;
    std::string host;          // as written, without the brackets of an IPv6 literal
    uint16_t port = 0;         // absolute form without a port: 80
    std::string url;           // the target as written ("host:443", "http://host/x")
    std::string path;          // absolute form: origin-form target ("/x?y"); empty for CONNECT
    std::string version;       // "HTTP/1.1" or "HTTP/1.0"
    std::vector<HttpHeader> headers;
    uint64_t content_length = 0;  // absolute form: the body that follows the head
    size_t head_bytes = 0;        // the head's length in the input, final CRLF CRLF included

    // The value of the one header called name (case-insensitive), nullopt if absent.
    std::optional<std::string_view> header(std::string_view name) const;
};

struct HttpParse {
    enum class State { Incomplete, Done, Failed };
    State state = State::Incomplete;
    HttpRequest request;   // Done
    int status = 0;        // Failed: the HTTP status to answer (400, 411, 431, 501)
    std::string message;   // Failed: why, for the client and the record
};

// Parses the head at the start of input. Incomplete until the blank line arrives; Failed as soon
// as what arrived cannot begin a valid head, or the head would exceed max_bytes (431) or
// max_headers header lines (431). Only "\r\n" ends lines; obsolete line folding, NUL and other
// control characters, a missing or malformed port, user info in the URL, a fragment, any scheme
// but http, Transfer-Encoding (411: bodies need Content-Length), conflicting Content-Length
// values and a Connection header naming Content-Length, Transfer-Encoding or Host (which would
// be dropped as hop-by-hop while the proxy acts on them) are refused.
HttpParse parse_http_request(std::string_view input, size_t max_bytes, size_t max_headers = 100);

// For an absolute-form request: why its Host header (if any) names another host or port than
// the URL, or nullopt when they agree. Names compare in canonical form (case, trailing dot, IDNA).
std::optional<std::string> host_header_mismatch(const HttpRequest& request);

// The head sent to the server for an absolute-form request: origin-form target, the client's
// version, Host, the client's end-to-end headers, and "Connection: close" (one request per
// connection, so that every request is judged). Host is `host` (the canonical name or IP the
// proxy judged) with the request's port: the server sees what was judged, not the client's
// spelling of it (a server that matches virtual hosts by exact text took "ALLOWED.TEST." for
// another site; red team, 2026-12-06). Hop-by-hop headers (Connection and those it names,
// Proxy-*, Keep-Alive, TE, Trailer, Upgrade) are dropped.
std::string origin_form_head(const HttpRequest& request, std::string_view host);

// The name the proxy gives itself in the Proxy-Status header (RFC 9209) of the responses it makes
// itself, so that a client (RTFS's http-fetch: rtfs/host/src/curl_transfer.cpp) tells them from
// a server's answer.
inline constexpr std::string_view kProxyStatusName = "microvm-egress";

// A complete refusal response: status line, a Proxy-Status header naming the proxy with an error
// type and the reason, "Connection: close", and a one-line text body.
std::string http_refusal(int status, std::string_view reason);
const char* http_reason_phrase(int status);

}  // namespace microvm::proxy
