// SOCKS5 (RFC 1928) as far as a sandboxed program needs it: no authentication, CONNECT, and an
// IPv4, IPv6 or domain-name target (the proxy resolves names itself: "socks5h"). Untrusted input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace microvm::proxy::socks5 {

inline constexpr unsigned char kVersion = 0x05;

// Reply codes (RFC 1928 section 6).
enum class Reply : unsigned char {
    Succeeded = 0x00,
    GeneralFailure = 0x01,
    NotAllowed = 0x02,          // connection not allowed by ruleset
    NetworkUnreachable = 0x03,
    HostUnreachable = 0x04,
    ConnectionRefused = 0x05,
    TtlExpired = 0x06,          // used for timeouts
    CommandNotSupported = 0x07,
    AddressTypeNotSupported = 0x08,
};

struct Greeting {
    enum class State { Incomplete, Done, Failed };
    State state = State::Incomplete;
    size_t consumed = 0;       // Done: the greeting's length
    bool no_auth_offered = false;  // Done: may the proxy pick "no authentication"?
    std::string message;       // Failed
};

// VER NMETHODS METHODS...
Greeting parse_greeting(std::string_view input);

struct Request {
    enum class State { Incomplete, Done, Failed };
    State state = State::Incomplete;
    size_t consumed = 0;       // Done: the request's length
    std::string host;          // Done, and Failed once whole: a domain name as sent, or the
    bool host_is_name = false; // text of the IP address
    uint16_t port = 0;
    Reply reply = Reply::GeneralFailure;  // Failed: the reply to send
    std::string message;                  // Failed
};

// VER CMD RSV ATYP DST.ADDR DST.PORT, after the greeting.
Request parse_request(std::string_view input);

// The method selection: "no authentication" (0x00) or "no acceptable methods" (0xFF).
std::string method_reply(bool accepted);
// A reply with BND.ADDR 0.0.0.0:0: the proxy's own addresses are nobody's business.
std::string reply(Reply code);

}  // namespace microvm::proxy::socks5
