#include "firecracker/fc_vsock.hpp"

#include <charconv>

#include "firecracker/fc_socket.hpp"
#include "microvm/decimal.hpp"

namespace microvm::firecracker {
namespace {

using Kind = FcError::Kind;

// "OK " + a u32 + "\n" is at most 14 bytes; a longer line is not Firecracker's.
constexpr size_t kMaxAnswer = 32;

}  // namespace

FcExpected<VsockStream> connect_vsock(const std::string& uds_path, uint32_t port,
                                      std::chrono::milliseconds timeout) {
    const std::string call = "vsock CONNECT " + std::to_string(port);
    const Deadline deadline = deadline_after(timeout);
    RTFS_TRY(host::UniqueFd fd, connect_unix(uds_path, deadline, call));
    RTFS_CHECK(send_all(fd.get(), "CONNECT " + std::to_string(port) + "\n", deadline, call));

    // One byte at a time up to the newline: whatever the agent sends right after the OK line
    // belongs to the stream and must stay in the socket for the caller.
    std::string line;
    for (;;) {
        char c = 0;
        RTFS_TRY(size_t n, recv_some(fd.get(), &c, 1, deadline, call));
        if (n == 0) {
            if (line.empty()) {
                return fc_fail(Kind::Refused, call,
                               "closed without an answer: nothing listens on guest port " +
                                   std::to_string(port));
            }
            return fc_fail(Kind::Protocol, call,
                           "closed in the middle of the answer '" + peer_text(line) + "'");
        }
        if (c == '\n') break;
        line += c;
        if (line.size() > kMaxAnswer) {
            return fc_fail(Kind::Protocol, call,
                           "answer longer than " + std::to_string(kMaxAnswer) + " bytes: '" +
                               peer_text(line) + "'");
        }
    }
    const std::string_view digits = std::string_view(line).substr(line.size() >= 3 ? 3 : line.size());
    const std::optional<uint32_t> host_port = parse_decimal<uint32_t>(digits);
    if (line.rfind("OK ", 0) != 0 || !host_port) {
        return fc_fail(Kind::Protocol, call, "unexpected answer '" + peer_text(line) + "'");
    }
    return VsockStream{std::move(fd), *host_port};
}

}  // namespace microvm::firecracker
