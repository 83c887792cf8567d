// ClientHello parsing (RFC 8446 section 4.1.2, RFC 6066 section 3) with bounds checked on every
// read.
#include "proxy/tls_client_hello.hpp"

#include <cstdint>
#include <set>

namespace microvm::proxy::tls {
namespace {

constexpr unsigned char kHandshakeRecord = 0x16;
constexpr unsigned char kClientHello = 0x01;
constexpr size_t kRecordHeader = 5;
constexpr size_t kMaxRecordPayload = 16384;  // 2^14: a plaintext record's limit
constexpr uint16_t kServerNameExtension = 0;
constexpr unsigned char kHostNameType = 0;

// Reads big-endian fields off a byte span; any read past the end sets failed.
class Reader {
  public:
    explicit Reader(std::string_view data) : data_(data) {}
    bool failed() const { return failed_; }
    bool empty() const { return pos_ >= data_.size(); }
    size_t left() const { return failed_ ? 0 : data_.size() - pos_; }
    uint32_t number(size_t bytes) {
        if (left() < bytes) return fail();
        uint32_t v = 0;
        for (size_t i = 0; i < bytes; ++i) v = v << 8 | static_cast<unsigned char>(data_[pos_ + i]);
        pos_ += bytes;
        return v;
    }
    std::string_view bytes(size_t n) {
        if (left() < n) {
            fail();
            return {};
        }
        std::string_view out = data_.substr(pos_, n);
        pos_ += n;
        return out;
    }
    // A vector with a length prefix of prefix_bytes.
    std::string_view vector(size_t prefix_bytes) { return bytes(number(prefix_bytes)); }

  private:
    uint32_t fail() {
        failed_ = true;
        pos_ = data_.size();
        return 0;
    }
    std::string_view data_;
    size_t pos_ = 0;
    bool failed_ = false;
};

ClientHello result(ClientHello::State state, std::string message) {
    ClientHello c;
    c.state = state;
    c.message = std::move(message);
    return c;
}

ClientHello malformed(std::string message) {
    return result(ClientHello::State::Malformed, std::move(message));
}

// The server_name extension's data: exactly one host_name.
ClientHello server_name(std::string_view data, ClientHello done) {
    Reader ext(data);
    Reader list(ext.vector(2));
    if (ext.failed() || !ext.empty()) return malformed("malformed server_name extension");
    if (list.empty()) return malformed("empty server name list");
    const uint32_t type = list.number(1);
    std::string_view name = list.vector(2);
    if (list.failed()) return malformed("malformed server name list");
    if (type != kHostNameType) return malformed("a server name of another type than host_name");
    if (!list.empty()) return malformed("more than one server name");
    if (name.empty() || name.size() > 255 || name.find('\0') != std::string_view::npos) {
        return malformed("malformed host_name in the server_name extension");
    }
    // ASCII letters, digits, '-', '.' and '_' (RFC 6066: an ASCII host name; IDNs as A-labels).
    // A Unicode name that IDNA maps onto the tunnel's host ("allo\u00ADwed.test", a fullwidth
    // letter) matched it here, while the server, which takes the bytes as they are, matched no
    // name of its own and answered as its default site: as a hello without SNI would (red team,
    // 2026-12-05).
    for (char c : name) {
        const bool ascii_name = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                                c == '-' || c == '.' || c == '_';
        if (!ascii_name) return malformed("a host_name in the server_name extension that is not an ASCII host name");
    }
    done.server_name = std::string(name);
    return done;
}

ClientHello client_hello_body(std::string_view body) {
    Reader r(body);
    r.number(2);       // legacy_version
    r.bytes(32);       // random
    std::string_view session_id = r.vector(1);
    std::string_view suites = r.vector(2);
    std::string_view compression = r.vector(1);
    if (r.failed() || session_id.size() > 32 || suites.size() < 2 || suites.size() % 2 != 0 ||
        compression.empty()) {
        return malformed("malformed ClientHello");
    }
    ClientHello done;
    done.state = ClientHello::State::Done;
    if (r.empty()) return done;  // no extensions, so no server name
    Reader extensions(r.vector(2));
    if (r.failed() || !r.empty()) return malformed("malformed ClientHello extensions");
    std::set<uint32_t> seen;
    std::optional<std::string_view> sni;
    while (!extensions.empty()) {
        const uint32_t type = extensions.number(2);
        std::string_view data = extensions.vector(2);
        if (extensions.failed()) return malformed("malformed ClientHello extension");
        if (!seen.insert(type).second) return malformed("duplicate ClientHello extension " + std::to_string(type));
        if (type == kServerNameExtension) sni = data;
    }
    if (sni) return server_name(*sni, std::move(done));
    return done;
}

}  // namespace

ClientHello parse_client_hello(std::string_view input, size_t max_bytes) {
    std::string handshake;  // the payloads of the handshake records so far
    size_t pos = 0;
    while (true) {
        std::string_view rest = input.substr(pos);
        // What a first record's header must be is known byte by byte: refuse non-TLS at once.
        if (!rest.empty() && static_cast<unsigned char>(rest[0]) != kHandshakeRecord) {
            return pos == 0 ? result(ClientHello::State::NotTls, "not a TLS handshake")
                            : malformed("a record of another type inside the ClientHello");
        }
        if (rest.size() >= 2 && static_cast<unsigned char>(rest[1]) != 0x03) {
            return pos == 0 ? result(ClientHello::State::NotTls, "not a TLS record version")
                            : malformed("bad record version inside the ClientHello");
        }
        if (rest.size() < kRecordHeader) {
            if (input.size() >= max_bytes) return malformed("ClientHello larger than the limit");
            return {};
        }
        const size_t length = static_cast<unsigned char>(rest[3]) << 8 | static_cast<unsigned char>(rest[4]);
        if (length == 0 || length > kMaxRecordPayload) return malformed("bad TLS record length");
        if (pos + kRecordHeader + length > max_bytes) {
            return malformed("ClientHello larger than " + std::to_string(max_bytes) + " bytes");
        }
        if (rest.size() < kRecordHeader + length) return {};
        handshake.append(rest.substr(kRecordHeader, length));
        pos += kRecordHeader + length;
        if (handshake.size() < 4) continue;
        if (static_cast<unsigned char>(handshake[0]) != kClientHello) {
            return malformed("the first handshake message is no ClientHello");
        }
        const size_t message = static_cast<size_t>(static_cast<unsigned char>(handshake[1])) << 16 |
                               static_cast<size_t>(static_cast<unsigned char>(handshake[2])) << 8 |
                               static_cast<unsigned char>(handshake[3]);
        if (4 + message > max_bytes) {
            return malformed("ClientHello larger than " + std::to_string(max_bytes) + " bytes");
        }
        if (handshake.size() > 4 + message) {
            // No client sends another handshake message before the server answers; what
            // follows would reach the server unjudged.
            return malformed("a handshake message after the ClientHello in its record");
        }
        if (handshake.size() == 4 + message) {
            return client_hello_body(std::string_view(handshake).substr(4, message));
        }
    }
}

std::string alert(Alert description) {
    // Record: alert (21), version 3.1 (accepted during any version's handshake), length 2;
    // level fatal (2), description.
    return std::string{0x15, 0x03, 0x01, 0x00, 0x02, 0x02, static_cast<char>(description)};
}

}  // namespace microvm::proxy::tls
