// An IPv4 or IPv6 socket address: what the resolver answers, the filter judges and the proxy
// connects to (the same object, so the address checked is the address connected to).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace microvm::proxy {

class SocketAddress {
  public:
    SocketAddress() = default;
    // From an address of family AF_INET or AF_INET6 (nullopt for any other or a short length).
    static std::optional<SocketAddress> from_sockaddr(const sockaddr* addr, socklen_t length);
    // From an IP literal ("10.0.0.1", "::1"; no brackets) and a port.
    static std::optional<SocketAddress> from_ip(std::string_view ip, uint16_t port);

    int family() const { return storage_.ss_family; }
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage_); }
    socklen_t length() const { return length_; }
    uint16_t port() const;
    void set_port(uint16_t port);
    std::string ip() const;         // "10.0.0.1", "::1"
    std::string to_string() const;  // "10.0.0.1:80", "[::1]:80"

  private:
    sockaddr_storage storage_{};
    socklen_t length_ = 0;
};

}  // namespace microvm::proxy
