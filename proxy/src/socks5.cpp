// The SOCKS5 greeting and CONNECT request, and the replies.
#include "proxy/socks5.hpp"

#include <arpa/inet.h>

namespace microvm::proxy::socks5 {
namespace {

unsigned char byte(std::string_view s, size_t i) { return static_cast<unsigned char>(s[i]); }

}  // namespace

Greeting parse_greeting(std::string_view input) {
    Greeting g;
    if (input.empty()) return g;
    if (byte(input, 0) != kVersion) {
        g.state = Greeting::State::Failed;
        g.message = "not SOCKS version 5";
        return g;
    }
    if (input.size() < 2) return g;
    const size_t methods = byte(input, 1);
    if (methods == 0) {
        g.state = Greeting::State::Failed;
        g.message = "SOCKS5 greeting offers no method";
        return g;
    }
    if (input.size() < 2 + methods) return g;
    for (size_t i = 0; i < methods; ++i) {
        if (byte(input, 2 + i) == 0x00) g.no_auth_offered = true;
    }
    g.state = Greeting::State::Done;
    g.consumed = 2 + methods;
    return g;
}

Request parse_request(std::string_view input) {
    Request r;
    auto fail = [&](Reply code, std::string message) {
        r.state = Request::State::Failed;
        r.reply = code;
        r.message = std::move(message);
        return r;
    };
    if (input.size() < 4) {
        if (!input.empty() && byte(input, 0) != kVersion) return fail(Reply::GeneralFailure, "not a SOCKS5 request");
        return r;
    }
    if (byte(input, 0) != kVersion) return fail(Reply::GeneralFailure, "not a SOCKS5 request");
    if (byte(input, 2) != 0x00) return fail(Reply::GeneralFailure, "reserved byte of the SOCKS5 request is not 0");
    const unsigned char command = byte(input, 1);
    const unsigned char type = byte(input, 3);
    size_t address_end = 0;
    switch (type) {
        case 0x01: address_end = 4 + 4; break;
        case 0x04: address_end = 4 + 16; break;
        case 0x03: {
            if (input.size() < 5) return r;
            const size_t length = byte(input, 4);
            if (length == 0) return fail(Reply::GeneralFailure, "empty domain name in the SOCKS5 request");
            address_end = 5 + length;
            break;
        }
        default:
            return fail(Reply::AddressTypeNotSupported, "unknown SOCKS5 address type " + std::to_string(type));
    }
    // The command is judged once the request is whole, so that the reply follows the request;
    // its target is read first, so that a refused request is recorded with it.
    if (input.size() < address_end + 2) return r;
    if (type == 0x03) {
        r.host = std::string(input.substr(5, address_end - 5));
        r.host_is_name = true;
    } else {
        char text[INET6_ADDRSTRLEN] = {};
        inet_ntop(type == 0x01 ? AF_INET : AF_INET6, input.data() + 4, text, sizeof text);
        r.host = text;
    }
    r.port = static_cast<uint16_t>(byte(input, address_end) << 8 | byte(input, address_end + 1));
    if (command != 0x01) {
        return fail(Reply::CommandNotSupported,
                    command == 0x02 ? "SOCKS5 BIND is not supported"
                    : command == 0x03 ? "SOCKS5 UDP ASSOCIATE is not supported"
                                      : "unknown SOCKS5 command " + std::to_string(command));
    }
    if (r.host.find('\0') != std::string::npos) {
        return fail(Reply::GeneralFailure, "NUL in the domain name of the SOCKS5 request");
    }
    if (r.port == 0) return fail(Reply::GeneralFailure, "port 0 in the SOCKS5 request");
    r.state = Request::State::Done;
    r.consumed = address_end + 2;
    return r;
}

std::string method_reply(bool accepted) {
    return std::string{static_cast<char>(kVersion), static_cast<char>(accepted ? 0x00 : 0xFF)};
}

std::string reply(Reply code) {
    // VER REP RSV ATYP=IPv4 0.0.0.0 port 0
    std::string out(10, '\0');
    out[0] = static_cast<char>(kVersion);
    out[1] = static_cast<char>(code);
    out[3] = 0x01;
    return out;
}

}  // namespace microvm::proxy::socks5
