#include "firecracker/fc_error.hpp"

#include "microvm/utf8.hpp"

namespace microvm::firecracker {

const char* to_string(FcError::Kind kind) {
    switch (kind) {
        case FcError::Kind::InvalidRequest: return "invalid request";
        case FcError::Kind::Connect: return "cannot connect";
        case FcError::Kind::Timeout: return "timed out";
        case FcError::Kind::Protocol: return "protocol error";
        case FcError::Kind::TooLarge: return "answer too large";
        case FcError::Kind::Api: return "refused";
        case FcError::Kind::Refused: return "connection refused";
    }
    return "error";
}

std::string FcError::message() const {
    std::string m = "firecracker " + call + ": ";
    if (kind == Kind::Api) {
        m += "HTTP " + std::to_string(http_status);
    } else {
        m += to_string(kind);
    }
    if (!detail.empty()) m += ": " + detail;
    return m;
}

Failure to_failure(const FcError& error) {
    return Failure{Failure::Kind::SetupError, error.message()};
}

std::string peer_text(std::string_view raw, size_t max_bytes) {
    bool cut = raw.size() > max_bytes;
    // Cut first so that the work is bounded by max_bytes, then repair a sequence split by the cut.
    std::string text = valid_utf8(raw.substr(0, max_bytes));
    for (char& c : text) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) c = ' ';
    }
    if (cut) text += "...";
    return text;
}

}  // namespace microvm::firecracker
