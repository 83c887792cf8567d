// The server name (SNI) of a TLS ClientHello, read from the first bytes a client sends into a
// tunnel, so that the proxy can refuse a name other than the one the tunnel was granted for
// (domain fronting). Only the handshake's first message is read; TLS stays end to end.
// Untrusted input.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace microvm::proxy::tls {

struct ClientHello {
    enum class State {
        Incomplete,  // a prefix of a ClientHello: read more
        NotTls,      // the first bytes are no TLS handshake record
        Malformed,   // TLS records that hold no well-formed ClientHello within the limit
        Done,
    };
    State state = State::Incomplete;
    std::optional<std::string> server_name;  // Done: the host_name entry, as sent
    std::string message;                     // NotTls, Malformed: why
};

// Parses the ClientHello at the start of input, reassembled across handshake records if it is
// split. Malformed when it (records included) would need more than max_bytes. Refused as
// Malformed, because two parsers could read them differently: duplicate extensions, more than
// one server name, a server name of another type than host_name, trailing bytes.
ClientHello parse_client_hello(std::string_view input, size_t max_bytes);

enum class Alert : unsigned char { AccessDenied = 49, DecodeError = 50 };
// A fatal alert record, which a client reports as the reason of its failed handshake.
std::string alert(Alert description);

}  // namespace microvm::proxy::tls
