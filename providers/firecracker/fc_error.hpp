// Errors of the Firecracker backend as values: which call failed (an API request, a vsock
// handshake) and how. Kept apart from microvm::Failure so that tests and the provider can tell a
// timeout from a refusal by Firecracker; to_failure() turns one into the project's error value.
#pragma once

#include <string>
#include <string_view>

#include "microvm/error.hpp"
#include "rtfs/expected.hpp"

namespace microvm::firecracker {

struct FcError {
    enum class Kind {
        InvalidRequest,  // refused before sending: a field Firecracker could never accept
        Connect,         // the socket is missing or nobody accepts on it
        Timeout,         // the call's deadline passed (stuck or slow peer)
        Protocol,        // the peer broke HTTP framing or the vsock handshake, or closed early
        TooLarge,        // the answer exceeded its byte cap
        Api,             // Firecracker answered with an error status (fault_message in detail)
        Refused,         // vsock: the connection was closed without OK (no guest listener)
    };
    Kind kind = Kind::Protocol;
    std::string call;     // "PUT /boot-source", "vsock CONNECT 52"
    int http_status = 0;  // Api: the status Firecracker answered
    std::string detail;   // the fault message, or what went wrong

    // "firecracker PUT /boot-source: HTTP 400: <fault message>"
    std::string message() const;
};

template <class T>
using FcExpected = rtfs::Expected<T, FcError>;

inline rtfs::Unexpected<FcError> fc_fail(FcError::Kind kind, std::string call,
                                         std::string detail, int http_status = 0) {
    return {FcError{kind, std::move(call), http_status, std::move(detail)}};
}

const char* to_string(FcError::Kind kind);

// A SetupError carrying message(): how the provider reports a failed VM operation.
Failure to_failure(const FcError& error);

// Text from the peer (a fault message, a bad status line) made safe to show and to put in JSON:
// valid UTF-8, control characters replaced, at most max_bytes (then "...").
std::string peer_text(std::string_view raw, size_t max_bytes = 512);

}  // namespace microvm::firecracker
