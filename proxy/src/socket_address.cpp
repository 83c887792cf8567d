#include "proxy/socket_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace microvm::proxy {

std::optional<SocketAddress> SocketAddress::from_sockaddr(const sockaddr* addr, socklen_t length) {
    if (!addr) return std::nullopt;
    SocketAddress out;
    if (addr->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        out.length_ = sizeof(sockaddr_in);
    } else if (addr->sa_family == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
        out.length_ = sizeof(sockaddr_in6);
    } else {
        return std::nullopt;
    }
    std::memcpy(&out.storage_, addr, out.length_);
    return out;
}

std::optional<SocketAddress> SocketAddress::from_ip(std::string_view ip, uint16_t port) {
    if (ip.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    const std::string text(ip);
    SocketAddress out;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage_);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage_);
    if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        out.length_ = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        out.length_ = sizeof(sockaddr_in6);
    } else {
        return std::nullopt;
    }
    out.set_port(port);
    return out;
}

uint16_t SocketAddress::port() const {
    if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    return 0;
}

void SocketAddress::set_port(uint16_t port) {
    if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
    if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
}

std::string SocketAddress::ip() const {
    char text[INET6_ADDRSTRLEN] = {};
    if (family() == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, text, sizeof text);
    } else if (family() == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, text, sizeof text);
    }
    return text;
}

std::string SocketAddress::to_string() const {
    const std::string host = family() == AF_INET6 ? "[" + ip() + "]" : ip();
    return host + ":" + std::to_string(port());
}

}  // namespace microvm::proxy
