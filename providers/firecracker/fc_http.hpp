// A minimal HTTP/1.1 client for Firecracker's API socket: one request per connection, a JSON body
// or none, and a response framed as Firecracker's micro_http frames it (Content-Length, which it
// omits when the body is empty; never chunked).
//
// Why our own and not cpp-httplib: what the host needs from this client is a hard bound on every
// call, and cpp-httplib's timeouts are per read/write, so a server that drips a byte per second
// never trips them, and its client has no cap on a response's size. The whole client here is a
// few hundred lines over poll() with one deadline per call and byte caps on headers and body,
// which is also cheaper to compile than a 10k-line header on every build.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "firecracker/fc_error.hpp"

namespace microvm::firecracker {

struct HttpLimits {
    std::chrono::milliseconds timeout{5000};  // the whole call: connect, send, receive
    size_t max_header_bytes = 8 * 1024;       // status line and headers
    size_t max_body_bytes = 64 * 1024;        // Firecracker's largest answer is a few KiB
};

struct HttpResponse {
    int status = 0;
    std::string body;
};

// The status and framing of a response, from its head (status line and headers, the final
// CRLF CRLF excluded).
struct ResponseHead {
    int status = 0;
    size_t content_length = 0;  // 0 when the header is absent (micro_http's empty body)
};
// Strict parse: "HTTP/1.x NNN[ reason]" then "Name: value" lines. Protocol error otherwise, and
// for Transfer-Encoding (Firecracker never sends it), conflicting Content-Lengths, 1xx statuses.
FcExpected<ResponseHead> parse_response_head(std::string_view head, const std::string& call);

// The request bytes: method, target, Host, Accept, and for a body Content-Type and
// Content-Length.
std::string format_request(std::string_view method, std::string_view target,
                           std::string_view json_body);

// Sends one request to the server on the Unix socket and reads its response, within
// limits.timeout and the byte caps. `call` (e.g. "PUT /boot-source") names it in errors.
FcExpected<HttpResponse> http_call(const std::string& socket_path, std::string_view method,
                                   std::string_view target, std::string_view json_body,
                                   const HttpLimits& limits);

}  // namespace microvm::firecracker
