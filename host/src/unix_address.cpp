#include "host/unix_address.hpp"

#include <sys/socket.h>

#include <cstring>

namespace microvm::host {

std::optional<sockaddr_un> unix_address(std::string_view path) {
    if (path.empty() || path.size() > kMaxUnixSocketPath || path.find('\0') != std::string_view::npos) {
        return std::nullopt;
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    return addr;
}

}  // namespace microvm::host
