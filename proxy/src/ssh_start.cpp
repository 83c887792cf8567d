#include "proxy/ssh_start.hpp"

#include <cstdint>

namespace microvm::proxy::ssh {
namespace {

constexpr size_t kMaxIdentification = 255;  // with its CR LF (RFC 4253 4.2)
// The padding length, the message number, KEXINIT's 16-byte cookie and 4 bytes of padding.
constexpr uint32_t kMinPacket = 22;
constexpr uint32_t kMaxPacket = 256 * 1024;  // OpenSSH's limit
constexpr unsigned char kKexInit = 20;

ClientStart not_ssh(std::string why) { return {ClientStart::State::NotSsh, std::move(why)}; }

bool printable(char c) { return c >= 0x20 && c <= 0x7e; }

}  // namespace

ClientStart judge_client_start(std::string_view bytes) {
    const ClientStart incomplete;
    for (std::string_view version : {std::string_view("SSH-2.0-"), std::string_view("SSH-1.99-")}) {
        const size_t n = std::min(bytes.size(), version.size());
        if (bytes.substr(0, n) != version.substr(0, n)) continue;
        if (n < version.size()) return incomplete;
        const size_t end = bytes.find("\r\n");
        if (end == std::string_view::npos) {
            if (bytes.size() >= kMaxIdentification) return not_ssh("an SSH identification line over 255 bytes");
            // A CR at the end may be the line's end arriving.
            const std::string_view so_far = bytes.back() == '\r' ? bytes.substr(0, bytes.size() - 1) : bytes;
            for (char c : so_far) {
                if (!printable(c)) return not_ssh("an SSH identification line with a control byte");
            }
            return incomplete;
        }
        const std::string_view line = bytes.substr(0, end);
        if (end + 2 > kMaxIdentification) return not_ssh("an SSH identification line over 255 bytes");
        const std::string_view rest = line.substr(version.size());
        const size_t space = rest.find(' ');
        const std::string_view software = rest.substr(0, space);
        if (software.empty()) return not_ssh("an SSH identification line without a software version");
        for (char c : software) {
            if (!printable(c) || c == '-') return not_ssh("an SSH software version with '-' or a control byte");
        }
        for (char c : line) {
            if (!printable(c)) return not_ssh("an SSH identification line with a control byte");
        }
        if (line.find(" HTTP/") != std::string_view::npos) return not_ssh("an HTTP request line dressed as SSH");
        const std::string_view packet = bytes.substr(end + 2);
        if (packet.size() < 6) return incomplete;
        const auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(packet[i])); };
        const uint32_t length = byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
        const uint32_t padding = byte(4);
        if (length < kMinPacket || length > kMaxPacket || padding < 4 || padding >= length ||
            byte(5) != kKexInit) {
            return not_ssh("no SSH key exchange packet after the identification line");
        }
        return {ClientStart::State::Ssh, {}};
    }
    return not_ssh("the first bytes are neither a TLS ClientHello nor an SSH identification line");
}

}  // namespace microvm::proxy::ssh
