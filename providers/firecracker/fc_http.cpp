#include "firecracker/fc_http.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "firecracker/fc_socket.hpp"
#include "microvm/http_text.hpp"
#include "microvm/decimal.hpp"

namespace microvm::firecracker {
namespace {

using Kind = FcError::Kind;

using http_text::iequals;

bool is_token_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// "HTTP/1.1 204 " (micro_http leaves the reason empty) or "HTTP/1.1 400 Bad Request".
FcExpected<int> parse_status_line(std::string_view line, const std::string& call) {
    auto bad = [&] {
        return fc_fail(Kind::Protocol, call, "malformed status line '" + peer_text(line, 80) + "'");
    };
    if (line.substr(0, 7) != "HTTP/1." || line.size() < 12) return bad();
    if (line[7] != '0' && line[7] != '1') return bad();
    if (line[8] != ' ') return bad();
    std::string_view code = line.substr(9, 3);
    if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return bad();
    }
    if (line.size() > 12 && line[12] != ' ') return bad();
    int status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    if (status < 100 || status > 599) return bad();
    if (status < 200) {
        // We never send Expect, so an interim answer is not something Firecracker would say.
        return fc_fail(Kind::Protocol, call, "unexpected interim status " + std::to_string(status));
    }
    for (char c : line.substr(12)) {
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return bad();
    }
    return status;
}

FcExpected<size_t> parse_content_length(std::string_view value, const std::string& call) {
    const std::optional<size_t> n = parse_decimal<size_t>(value);
    if (!n) return fc_fail(Kind::Protocol, call, "malformed Content-Length '" + peer_text(value, 40) + "'");
    return *n;
}

}  // namespace

FcExpected<ResponseHead> parse_response_head(std::string_view head, const std::string& call) {
    size_t eol = head.find("\r\n");
    RTFS_TRY(int status, parse_status_line(head.substr(0, eol), call));
    ResponseHead out;
    out.status = status;
    std::optional<size_t> length;
    std::string_view rest = eol == std::string_view::npos ? "" : head.substr(eol + 2);
    while (!rest.empty()) {
        size_t end = rest.find("\r\n");
        std::string_view line = rest.substr(0, end);
        rest = end == std::string_view::npos ? "" : rest.substr(end + 2);
        size_t colon = line.find(':');
        if (colon == 0 || colon == std::string_view::npos ||
            !std::all_of(line.begin(), line.begin() + static_cast<long>(colon), is_token_char)) {
            // Also refuses obsolete line folding (a line starting with a space).
            return fc_fail(Kind::Protocol, call, "malformed header '" + peer_text(line, 80) + "'");
        }
        std::string_view name = line.substr(0, colon);
        std::string_view value = http_text::trim_ows(line.substr(colon + 1));
        if (iequals(name, "Transfer-Encoding")) {
            return fc_fail(Kind::Protocol, call,
                           "Transfer-Encoding '" + peer_text(value, 40) +
                               "' (Firecracker frames every answer with Content-Length)");
        }
        if (iequals(name, "Content-Length")) {
            RTFS_TRY(size_t n, parse_content_length(value, call));
            if (length && *length != n) {
                return fc_fail(Kind::Protocol, call, "conflicting Content-Length headers");
            }
            length = n;
        }
    }
    // 204 and 304 have no body whatever the headers say (RFC 9112 section 6.3).
    out.content_length = (status == 204 || status == 304) ? 0 : length.value_or(0);
    return out;
}

std::string format_request(std::string_view method, std::string_view target,
                           std::string_view json_body) {
    std::string req;
    req.reserve(160 + json_body.size());
    req.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
    req += "Host: localhost\r\nAccept: application/json\r\n";
    if (!json_body.empty()) {
        req += "Content-Type: application/json\r\nContent-Length: ";
        req += std::to_string(json_body.size());
        req += "\r\n";
    }
    req += "\r\n";
    req.append(json_body);
    return req;
}

FcExpected<HttpResponse> http_call(const std::string& socket_path, std::string_view method,
                                   std::string_view target, std::string_view json_body,
                                   const HttpLimits& limits) {
    const std::string call = std::string(method) + " " + std::string(target);
    const Deadline deadline = deadline_after(limits.timeout);
    RTFS_TRY(host::UniqueFd fd, connect_unix(socket_path, deadline, call));
    RTFS_CHECK(send_all(fd.get(), format_request(method, target, json_body), deadline, call));
    // No shutdown(SHUT_WR) after the request: micro_http drops a connection on EOF, possibly
    // before answering. The connection simply closes when fd goes out of scope.

    std::string buf;
    char chunk[4096];
    size_t head_end = std::string::npos;
    while (head_end == std::string::npos) {
        // Never hold more than the header cap (+ the 3 bytes a split terminator may need).
        size_t room = limits.max_header_bytes + 4 - buf.size();
        RTFS_TRY(size_t n, recv_some(fd.get(), chunk, std::min(room, sizeof chunk), deadline, call));
        if (n == 0) {
            return fc_fail(Kind::Protocol, call,
                           buf.empty() ? "connection closed without an answer"
                                       : "connection closed inside the response headers (" +
                                             std::to_string(buf.size()) + " bytes)");
        }
        size_t scan_from = buf.size() >= 3 ? buf.size() - 3 : 0;
        buf.append(chunk, n);
        head_end = buf.find("\r\n\r\n", scan_from);
        if (head_end == std::string::npos && buf.size() > limits.max_header_bytes) {
            return fc_fail(Kind::TooLarge, call,
                           "response headers exceed " + std::to_string(limits.max_header_bytes) +
                               " bytes");
        }
        if (head_end != std::string::npos && head_end > limits.max_header_bytes) {
            return fc_fail(Kind::TooLarge, call,
                           "response headers exceed " + std::to_string(limits.max_header_bytes) +
                               " bytes");
        }
    }
    RTFS_TRY(ResponseHead head, parse_response_head(std::string_view(buf).substr(0, head_end), call));
    if (head.content_length > limits.max_body_bytes) {
        return fc_fail(Kind::TooLarge, call,
                       "response body of " + std::to_string(head.content_length) +
                           " bytes exceeds the cap of " + std::to_string(limits.max_body_bytes));
    }
    HttpResponse response;
    response.status = head.status;
    response.body = buf.substr(head_end + 4, head.content_length);
    while (response.body.size() < head.content_length) {
        size_t want = std::min(head.content_length - response.body.size(), sizeof chunk);
        RTFS_TRY(size_t n, recv_some(fd.get(), chunk, want, deadline, call));
        if (n == 0) {
            return fc_fail(Kind::Protocol, call,
                           "connection closed after " + std::to_string(response.body.size()) +
                               " of " + std::to_string(head.content_length) + " body bytes");
        }
        response.body.append(chunk, n);
    }
    return response;
}

}  // namespace microvm::firecracker
